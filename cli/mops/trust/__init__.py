"""Trust: who may sign, whether a sign-off is proven, and whether history agrees.

:mod:`.signers` reads the allowed signers (``.mops/allowed_signers``) and says what
git's verdict on a signature proves about a person; :mod:`.history` replays the
history of the governed paths once; :mod:`.signing` decides whether ``approve``
signs and gives the policy engine its ``is_signed`` hook; :mod:`.verify` checks
every sign-off and piece of evidence against history (``mops verify``).

Trust reads the inventory (:mod:`mops.inventory`) and git (:mod:`mops.git`); the
inventory never imports trust: the signing decision reaches ``approve`` as a
callable, wired by :mod:`mops.api`.
"""
