"""deploy/nginx/'s template renders the same for local runs as in the official nginx image, and
nginx accepts it inside a main file like the image's (docker-compose cannot run here)."""

import os
import shutil
import subprocess

import pytest

from loadtests.harness.nginx import PLACEHOLDER, TEMPLATE, nginx_binary, production_values, render

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


def test_nginx_accepts_the_configuration_inside_a_main_file_like_the_images(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "default.conf").write_text(
        render(["127.0.0.1:8000", "127.0.0.1:8001"], access_log=str(tmp_path / "access.log"))
    )
    temp_paths = "\n".join(
        f"{kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main_file = tmp_path / "nginx.conf"
    main_file.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nevents {{}}\n"
        f"http {{\n{temp_paths}\nkeepalive_timeout 65;\ninclude {tmp_path}/conf.d/*.conf;\n}}\n"
    )

    check = subprocess.run(
        [nginx_binary(), "-t", "-p", tmp_path, "-c", main_file, "-e", tmp_path / "error.log"],
        capture_output=True,
        text=True,
    )

    assert check.returncode == 0, check.stderr
