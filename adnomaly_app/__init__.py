"""The incidents app (Streamlit): the queue of fraud incidents, one incident's evidence,
analysts' verdicts and the pipeline's health, behind a login. Served by `adnomaly ui`.

It reads and writes only through the data plane (`streaming.incidents`), so the command line and
the app agree on what an incident is and which verdict is in force.
"""
