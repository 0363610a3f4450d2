"""deploy/nginx/'s template renders the same for local runs as in the official nginx image, and
nginx accepts it laid out as the compose files mount it (docker compose cannot run here)."""

import os
import shutil
import subprocess

import pytest

from loadtests.harness.nginx import (
    MAIN_CONFIG,
    PLACEHOLDER,
    TEMPLATE,
    nginx_binary,
    production_values,
    render,
)

UPSTREAM_PLACEHOLDER = "MEDIQUEUE_NGINX_UPSTREAM_SERVERS"


def test_every_placeholder_but_the_upstreams_has_a_production_value():
    placeholders = set(PLACEHOLDER.findall(TEMPLATE.read_text()))

    assert placeholders - set(production_values()) == {UPSTREAM_PLACEHOLDER}
    assert set(production_values()) <= placeholders, "a production value the template ignores"


def test_render_refuses_a_setting_the_template_does_not_have():
    with pytest.raises(ValueError, match="client_header_timeot"):
        render(["127.0.0.1:8000"], client_header_timeot="3s")


@pytest.mark.skipif(not shutil.which("envsubst"), reason="envsubst (gettext-base) not installed")
def test_render_matches_what_the_official_images_envsubst_makes():
    """The image substitutes every variable of its environment (docker-entrypoint.d's
    20-envsubst-on-templates.sh): nginx's own $variables must come through untouched."""
    env = {
        **os.environ,
        **production_values(),
        UPSTREAM_PLACEHOLDER: "server app:8000;",
    }
    defined = " ".join(f"${{{name}}}" for name in env)

    rendered = subprocess.run(
        ["envsubst", defined],
        input=TEMPLATE.read_text(),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert rendered == render(["app:8000"])


def test_nginx_accepts_the_files_laid_out_as_the_compose_files_mount_them(tmp_path):
    """The image's /etc/nginx: deploy/nginx/nginx.conf as the main file, mediqueue.conf beside
    it (rendered from the template), temp/ (a tmpfs)."""
    shutil.copy(MAIN_CONFIG, tmp_path / "nginx.conf")
    (tmp_path / "mediqueue.conf").write_text(
        render(["127.0.0.1:8000", "127.0.0.1:8001"], access_log=str(tmp_path / "access.log"))
    )
    (tmp_path / "temp").mkdir()

    error_log = tmp_path / "error.log"
    check = subprocess.run(
        [nginx_binary(), "-t", "-p", tmp_path, "-c", tmp_path / "nginx.conf", "-e", error_log],
        capture_output=True,
        text=True,
    )

    assert check.returncode == 0, check.stderr
