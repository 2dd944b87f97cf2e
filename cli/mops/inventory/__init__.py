"""The inventory: how it is stored, its typed records, and its one-commit write protocol.

- :mod:`.layout` where everything is (inventory paths, mops's files in ``.git``);
  :mod:`.names` the names that become paths; :mod:`.yamlio` safe YAML in, stable YAML
  out (and the record cache an ``Inventory`` owns);
- :mod:`.records` typed records that read *and* write themselves (``file:line`` errors);
- :mod:`.store` the ``Inventory``: the working tree or any commit, through one interface;
- :mod:`.digest` content digests and the subject digest a sign-off binds to;
  :mod:`.views` plain data for ``list``, ``show`` and ``log``; :mod:`.changes` what a
  branch changed; :mod:`.authority`, :mod:`.artifacts`, :mod:`.contained` rules of
  records that every layer above shares;
- :mod:`.actions` the write side: one action, one commit, or nothing at all.

It uses :mod:`mops.git` (never git itself) and never imports policy, trust, drift,
report, the api or the commands: decisions of theirs reach an action as callables.
"""
