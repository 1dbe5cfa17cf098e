"""The scheduler process's Redis keys, apart from engage.scheduler so that the container health check
(`python app.py check scheduler`, every few seconds) reads them without importing every periodic job."""

LOCK_KEY = "engage:scheduler:lock"
# Each scheduler process says it is alive under its host name (the container's health check).
ALIVE_KEY = "engage:scheduler:alive:{host}"
