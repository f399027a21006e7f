"""Indicators as data: the spec language (`spec`, pure), the querysets a spec selects
(`queries`), the shipped definitions (`definitions`), the rollup over the area tree
(`rollup`) and small-cell suppression (`suppression`).

Nothing is re-exported here: the models import `spec`, which must load without the rest."""
