"""Exchange with other survey formats: XLSForm import (``kvpspec import xlsform``)."""
