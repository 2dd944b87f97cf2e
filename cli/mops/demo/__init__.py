"""``mops demo``: a sample inventory that shows the whole flow.

:mod:`.build` makes the inventory and its audit report; :mod:`.story` is the year of
governance played in it through :mod:`mops.api` (who does what, when); :mod:`.data`
generates its prediction logs; ``cards/`` holds its model cards.
"""
