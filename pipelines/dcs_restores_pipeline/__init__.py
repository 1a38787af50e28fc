"""The dcs-restores tool around the dlt source: the command (`cli`), one run (`runner`), the SQL
views (`views`, SQL in `models/`), the report, the check and the demo against the simulator.

Kept free of imports: `dcs-restores --help` must not pay for dlt, pandas or matplotlib.
"""
