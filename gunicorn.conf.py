"""gunicorn's settings for the web process: docker-compose.yml and the Dockerfile run
`gunicorn --config=gunicorn.conf.py ...`.

The access log leaves out the query string and the Referer: the patient search is
`GET /patients/?q=<name or MRN>`, and the page after a search is requested with that URL as its
Referer, so either would write patients' names and MRNs into the log. The path is kept (it holds
record ids, never names). Django's development server gets the same treatment in settings.LOGGING
(aih_tracker/log_filters.py).
"""

# gunicorn's default, with "%(m)s %(U)s %(H)s" (method, path, protocol) for the request line "%(r)s"
# and without the referrer "%(f)s".
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
