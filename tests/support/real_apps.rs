//! Real SCIM servers from PyPI, each in a small generated Django project
//! (`tests/standins/django_server.py`, `tests/standins/django_apps/`): `django-scim2` 0.23.0
//! with its default adapters and `django-scim2-server` 1.1.0 with its defaults. One venv under
//! target/ (`requirements-django.txt`); each server makes its SQLite file in its own temp dir.
//! Started through [`super::scim_server::ScimServerBuilder::real`]; see
//! `tests/standins/README.md` for what each one keeps, filters and deletes.

use std::path::Path;
use std::process::Command;

const LAUNCHER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/standins/django_server.py"
);

/// The apps `ScimServer::builder().real(..)` takes.
pub const APPS: [&str; 2] = ["django-scim2", "django-scim2-server"];

/// Where both serve SCIM (their READMEs mount the libraries' urls there).
pub const BASE_PATH: &str = "/scim/v2";

/// Answers 200 without authentication once the server listens (outside Django).
pub const READY_PATH: &str = "/__standin__/ready";

/// The readiness path and the SCIM base path of a real server, a stand-in or scim2-server.
pub fn paths(real: bool, stand_in: bool) -> (&'static str, &'static str) {
    match (real, stand_in) {
        (true, _) => (READY_PATH, BASE_PATH),
        (false, true) => (READY_PATH, ""),
        (false, false) => ("/ServiceProviderConfig", ""),
    }
}

/// The launcher for `app`, its database in `dir`, with `args` (e.g. `--concurrent`); the
/// caller adds `--hostname`, `--port` and `--bearer-token`.
pub fn command(app: &str, dir: &Path, args: &[String]) -> Command {
    assert!(
        APPS.contains(&app),
        "no real SCIM server called {app:?}; there are {APPS:?}"
    );
    let venv = super::standins::ensure_venv("django-venv", "requirements-django.txt");
    let mut cmd = Command::new(venv.join("bin").join("python"));
    cmd.arg(LAUNCHER)
        .args(["--app", app, "--data-dir"])
        .arg(dir)
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        // No __pycache__ in tests/standins/django_apps.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}
