"""``mops demo``: a sample inventory that shows the whole flow.

:mod:`.story` is the year of governance the demo plays (who does what, when);
:mod:`.data` generates its prediction logs; ``cards/`` holds its model cards.
"""
