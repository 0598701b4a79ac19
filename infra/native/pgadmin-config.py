# pgAdmin settings for the native stack, rendered into the state dir by `adnomaly stack up` and
# loaded through CONFIG_DISTRO_FILE_PATH (pgAdmin's packager hook).
SERVER_MODE = True
DATA_DIR = "${data_dir}"
DEFAULT_SERVER = "127.0.0.1"
DEFAULT_SERVER_PORT = ${port}
UPGRADE_CHECK_ENABLED = False
# the pre-registered server's password comes from a passfile in the user's storage directory
MASTER_PASSWORD_REQUIRED = False
CONSOLE_LOG_LEVEL = 30
