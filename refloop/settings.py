"""Refloop settings: everything comes from the environment, with safe local defaults.

The local default is the embedded setup of DESIGN.md: SQLite and uploaded documents under var/.
Production mode (DEBUG off) refuses to start with the default secret or with open hosts.
"""

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("REFLOOP_VAR_DIR", BASE_DIR / "var"))

DEFAULT_SECRET = "refloop-local-development-secret-not-for-production"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")

if not DEBUG:
    if SECRET_KEY == DEFAULT_SECRET or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("Set SECRET_KEY to a long random value when DEBUG is off.")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set ALLOWED_HOSTS to this server's names when DEBUG is off.")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "refloop.core",
    "refloop.directory",
    "refloop.referrals",
    "refloop.access",
    "refloop.loop",
    "refloop.messaging",
    "refloop.alerts",
    "refloop.analytics",
    "refloop.inbox",
    "refloop.web",
    "refloop.portal",
    "refloop.interop",
    "refloop.interop.fhir",
    "refloop.interop.hl7v2",
    "refloop.interop.files",
    "refloop.relations",
    "refloop.outreach",
    "refloop.content",
    "refloop.campaigns",
    "refloop.gifts",
    "refloop.demo",
    "refloop.cli",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "refloop.web.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "refloop.web.errors.DomainErrorMiddleware",
]

ROOT_URLCONF = "refloop.urls"
WSGI_APPLICATION = "refloop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "refloop.web.context.roles",
                "refloop.web.context.alerts",
            ],
        },
    }
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'refloop.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server, worker, scheduler and HL7 listener share one file: WAL lets readers run beside
    # a writer, IMMEDIATE takes the write lock up front so two writers queue instead of deadlocking.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("REFLOOP_TEST_SQLITE")
elif env_bool("REFLOOP_PG_SERVER_SIDE_BINDING", False):
    # Parameters sent apart from the SQL text, so the text of a statement repeats and psycopg
    # prepares it once it has run REFLOOP_PG_PREPARE_THRESHOLD times on a connection: PostgreSQL
    # then stops parsing and planning it again (not behind PgBouncer's transaction mode < 1.21).
    # Off by default: a statement may then carry at most 65,535 parameters (Django 5.2 neither
    # splits bulk_create nor an __in list to fit), and clinician-wide __in lists are not capped.
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": True,
        "prepare_threshold": int(os.environ.get("REFLOOP_PG_PREPARE_THRESHOLD", "5")) or None,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Checked wherever a person sets a password (the portal's invitation, the admin): at least 12
# characters, not a common password, not all digits, not like the user's name or e-mail.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "worklist"
LOGOUT_REDIRECT_URL = "login"

# Logout after 15 minutes idle: the session expires 15 minutes after the last request.
SESSION_COOKIE_AGE = 15 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# Documents are PHI: they live outside any public URL and are served only by views that check
# the role and write the access log (DESIGN.md, Privacy and security).
MEDIA_ROOT = Path(os.environ.get("REFLOOP_MEDIA_ROOT", VAR_DIR / "documents"))
MEDIA_URL = None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REFLOOP_MAX_UPLOAD_BYTES = int(os.environ.get("REFLOOP_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = REFLOOP_MAX_UPLOAD_BYTES + 1024 * 1024

# One-off jobs: the database backend by default (no other server); the Redis backend of
# django-tasks-rq when one machine is not enough (TASK_BACKEND=django_tasks_rq.RQBackend,
# REDIS_URL=redis://host:6379/0). Workers: `manage.py db_worker` or
# `manage.py rqworker --job-class django_tasks_rq.Job` (refloop_run picks the right one).
TASK_BACKEND = os.environ.get("TASK_BACKEND", "django_tasks_db.DatabaseBackend")
TASKS = {"default": {"BACKEND": TASK_BACKEND}}
if TASK_BACKEND == "django_tasks_rq.RQBackend":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS["default"]["QUEUES"] = ["default"]
    RQ_QUEUES = {"default": {"URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")}}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "outbox"

OTP_TOTP_ISSUER = "Refloop"

# The modules whose JOBS the scheduler runs (refloop_scheduler).
REFLOOP_SCHEDULER_JOBS = [
    "refloop.alerts.jobs",
    "refloop.access.jobs",
    "refloop.loop.jobs",
    "refloop.messaging.jobs",
    "refloop.portal.jobs",
    "refloop.inbox.jobs",
    "refloop.analytics.jobs",
    "refloop.analytics.jobs_review",
    "refloop.relations.jobs",
    "refloop.outreach.jobs",
    "refloop.content.jobs",
    "refloop.campaigns.jobs",
    "refloop.gifts.jobs",
]
# The monthly review goes by e-mail on the 1st to these addresses (comma-separated; aggregates
# only, no PHI); empty: it is not sent.
REFLOOP_REVIEW_RECIPIENTS = os.environ.get("REFLOOP_REVIEW_RECIPIENTS", "")
# A pilot the monthly review compares with its baseline (metrics.pilot.pilot_parse), as JSON:
# {"starts": "2026-06-01", "service_lines": ["Cardiology"], "channels": ["fhir"]}.
REFLOOP_REVIEW_PILOT = json.loads(os.environ.get("REFLOOP_REVIEW_PILOT") or "null")
# E-mail each person their new alerts (one message a pass; referral numbers only, no PHI).
REFLOOP_ALERT_EMAIL = os.environ.get("REFLOOP_ALERT_EMAIL", "") in {"1", "true", "yes"}
# Calendars: slots are made this many days ahead; a slot held for urgent referrals and still free
# this many hours before it starts is offered to everyone; third next available is measured daily
# at this local time.
REFLOOP_SLOT_HORIZON_DAYS = int(os.environ.get("REFLOOP_SLOT_HORIZON_DAYS", "42"))
REFLOOP_URGENT_HOLD_RELEASE_HOURS = int(os.environ.get("REFLOOP_URGENT_HOLD_RELEASE_HOURS", "24"))
REFLOOP_TNA_MEASURE_TIME = os.environ.get("REFLOOP_TNA_MEASURE_TIME", "08:00")
# The practice as patients and referrers know it: texts and letters name it (never the service).
REFLOOP_PRACTICE_NAME = os.environ.get("REFLOOP_PRACTICE_NAME", "Riverside Specialty Care")
REFLOOP_PRACTICE_PHONE = os.environ.get("REFLOOP_PRACTICE_PHONE", "(555) 010-2000")
REFLOOP_PRACTICE_ADDRESS = os.environ.get(
    "REFLOOP_PRACTICE_ADDRESS", "100 River Road, Springfield, ST 00000"
)
# Campaign e-mail carries the practice's valid postal address (CAN-SPAM); a system check
# (campaigns.checks) refuses an empty one. Opens and clicks are recorded only when this allows
# it and the campaign does too.
REFLOOP_PRACTICE_POSTAL_ADDRESS = os.environ.get(
    "REFLOOP_PRACTICE_POSTAL_ADDRESS", "100 River Road, Springfield, ST 00000 (demo address)"
)
REFLOOP_CAMPAIGN_TRACKING = os.environ.get("REFLOOP_CAMPAIGN_TRACKING", "") in {"1", "true", "yes"}
# Links in texts, e-mails and faxes point here (patients and referrers follow them without a login).
REFLOOP_BASE_URL = os.environ.get("REFLOOP_BASE_URL", "http://127.0.0.1:8000")

# Channels (refloop.messaging.backends): "outbox" records what would be sent and sends nothing;
# "twilio" sends texts through Twilio's Messages API; or a dotted path to a backend class.
REFLOOP_SMS_BACKEND = os.environ.get("REFLOOP_SMS_BACKEND", "outbox")
REFLOOP_FAX_BACKEND = os.environ.get("REFLOOP_FAX_BACKEND", "outbox")
REFLOOP_DIRECT_BACKEND = os.environ.get("REFLOOP_DIRECT_BACKEND", "outbox")
# HL7 v2 status and reports go to the partner's own MLLP endpoint (interop.hl7v2).
REFLOOP_HL7_BACKEND = os.environ.get(
    "REFLOOP_HL7_BACKEND", "refloop.interop.hl7v2.backend.MllpBackend"
)
# The HL7 v2 listener (MLLP) that `make run` starts beside the web server; and how long an
# outbound MLLP connection waits for the partner's ACK.
REFLOOP_HL7_HOST = os.environ.get("REFLOOP_HL7_HOST", "127.0.0.1")
REFLOOP_HL7_PORT = int(os.environ.get("REFLOOP_HL7_PORT", "2575"))
# MLLP has no sign-in: the listener takes connections only from these addresses or networks
# (comma separated; the partners' interface engines, or the VPN they come through).
REFLOOP_HL7_ALLOWED_SOURCES = os.environ.get(
    "REFLOOP_HL7_ALLOWED_SOURCES", "127.0.0.1/32,::1/128"
).split(",")
REFLOOP_HL7_TIMEOUT = float(os.environ.get("REFLOOP_HL7_TIMEOUT", "10"))
# Answering each sender in its own standard: each function takes a referral and returns the
# loop.services.referrer.Route back to the system or office that sent it, or None (then the
# referring clinician's own preference applies). Asked in this order.
REFLOOP_SENDER_ROUTES: list[str] = [
    "refloop.interop.hl7v2.routes.hl7_route",
    "refloop.interop.fhir.routes.fhir_route",
    "refloop.portal.routes.portal_route",
]
# The referring-office portal (refloop.portal). Counters live in the database (portal.RateCount),
# so every process of `make run` counts together.
REFLOOP_REFER_PER_HOUR = int(os.environ.get("REFLOOP_REFER_PER_HOUR", "10"))  # form posts per IP
REFLOOP_REFER_MAX_FILE_BYTES = int(os.environ.get("REFLOOP_REFER_MAX_FILE_BYTES", str(10 << 20)))
REFLOOP_REFER_MAX_TOTAL_BYTES = int(os.environ.get("REFLOOP_REFER_MAX_TOTAL_BYTES", str(25 << 20)))
REFLOOP_REFER_MAX_FILES = 10
REFLOOP_OFFICE_LOGIN_FAILURES = int(os.environ.get("REFLOOP_OFFICE_LOGIN_FAILURES", "5"))
REFLOOP_OFFICE_LOCK_MINUTES = int(os.environ.get("REFLOOP_OFFICE_LOCK_MINUTES", "15"))
REFLOOP_OFFICE_INVITE_DAYS = 7
# Document inbox (refloop.inbox): an unfiled document is due within this many business hours (at
# risk at 75%); inbound faxes come from these providers' webhooks (/hooks/fax/<name>/), each a
# dotted path to its adapter; e-mail from an IMAP mailbox and files from a drop folder, polled by
# the scheduler when set. A drop folder's documents become referrals of this channel.
REFLOOP_INBOX_FILE_WITHIN_HOURS = float(os.environ.get("REFLOOP_INBOX_FILE_WITHIN_HOURS", "4"))
REFLOOP_FAX_PROVIDERS = {"phaxio": "refloop.interop.fax_hooks.PhaxioAdapter"}
PHAXIO_CALLBACK_TOKEN = os.environ.get("PHAXIO_CALLBACK_TOKEN", "")
REFLOOP_INBOX_IMAP_HOST = os.environ.get("REFLOOP_INBOX_IMAP_HOST", "")
REFLOOP_INBOX_IMAP_PORT = int(os.environ.get("REFLOOP_INBOX_IMAP_PORT", "993"))
REFLOOP_INBOX_IMAP_SSL = os.environ.get("REFLOOP_INBOX_IMAP_SSL", "1") in {"1", "true", "yes"}
REFLOOP_INBOX_IMAP_USER = os.environ.get("REFLOOP_INBOX_IMAP_USER", "")
REFLOOP_INBOX_IMAP_PASSWORD = os.environ.get("REFLOOP_INBOX_IMAP_PASSWORD", "")
REFLOOP_INBOX_IMAP_FOLDER = os.environ.get("REFLOOP_INBOX_IMAP_FOLDER", "INBOX")
# Empty: a message read is marked seen; else it is moved to this folder (after the commit).
REFLOOP_INBOX_IMAP_DONE_FOLDER = os.environ.get("REFLOOP_INBOX_IMAP_DONE_FOLDER", "")
REFLOOP_INBOX_DROP_DIR = os.environ.get("REFLOOP_INBOX_DROP_DIR", "")
REFLOOP_INBOX_FOLDER_CHANNEL = os.environ.get("REFLOOP_INBOX_FOLDER_CHANNEL", "fax")
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "https://api.twilio.com")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "no-reply@refloop.invalid")
REFLOOP_MAIL_DOMAIN = os.environ.get("REFLOOP_MAIL_DOMAIN", "refloop.invalid")
# Words a text must never contain (it could tell a stranger what the patient is seen for); the
# service lines' names are added to these.
REFLOOP_SMS_CLINICAL_WORDS = env_list(
    "REFLOOP_SMS_CLINICAL_WORDS",
    "oncology,oncologist,cancer,chemotherapy,tumor,cardiology,cardiologist,psychiatry,"
    "psychiatrist,psychiatric,psychology,mental health,behavioral health,HIV,hepatitis,"
    "dialysis,nephrology,neurology,urology,gynecology,obstetrics,OB/GYN,fertility,"
    "pregnancy,abortion,addiction,substance use,rehab,STD,STI,sexual health,transplant,"
    "hospice,palliative,gastroenterology,endocrinology,diabetes,dermatology,rheumatology,"
    "pulmonology,orthopedics,surgery,surgeon,radiology,biopsy,genetic",
)

# Application logs carry ids and codes, never PHI (DESIGN.md, Privacy and security).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
