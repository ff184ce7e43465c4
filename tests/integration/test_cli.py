"""warroom's command line as an operator meets it: --version, --help (with
the subcommands), an unknown subcommand, and the configuration check
(-t): OK for a good file, and for a bad one every problem as file:line,
including the bridges' sections (an unknown bridge, a bad key, an enabled
bridge whose init refuses its settings), with exit status 1.
"""

import subprocess

import harness

tap = harness.Tap()
tmp = harness.tmpdir()
wr = harness.Warroom(tmp)
wr.generate()


def run(*args):
    p = subprocess.run([wr.binary, *args], capture_output=True, timeout=60, cwd=tmp)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


status, out, _ = run("--version")
tap.ok(status == 0 and out.startswith("warroom "), "--version prints the version")
status, out, _ = run("--help")
tap.ok(status == 0 and "warroom shell" in out and "-t, --check" in out, "--help lists the options and subcommands")
status, _, err = run("nosuch")
tap.ok(status == 2 and "unknown subcommand 'nosuch'" in err, "an unknown subcommand is a usage error")

status, out, err = run("-t", "-c", str(wr.config_path))
tap.is_(status, 0, "-t accepts the generated configuration")
tap.ok(out.strip().endswith(": OK"), "and says so")


def check_with(extra):
    """Writes the config merged with extra to bad.yaml; returns (status, stderr, text)."""
    text = harness.to_yaml(harness.merge(wr.config, extra)) + "\n"
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    status, _, err = run("-t", "-c", str(tmp_path / "bad.yaml"))
    return status, err, text


def line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


tmp_path = wr.dir
status, err, text = check_with({"bridges": {"nosuch": {"enabled": True}, "dns": {"timeout": "soon"}}})
tap.is_(status, 1, "-t refuses bad bridge sections")
tap.ok(f"bad.yaml:{line_of(text, 'nosuch')}: unknown bridge 'nosuch'" in err, "an unknown bridge, at its line: " + err)
tap.ok(f"bad.yaml:{line_of(text, 'soon')}: bridges.dns.timeout" in err, "a bad bridge key, at its line")

status, err, text = check_with({"bridges": {"virustotal": {"enabled": True}}})
tap.is_(status, 1, "-t runs the enabled bridges' own checks")
tap.ok("bridges.virustotal: api_key is required" in err, "a missing API key is named: " + err)

status, err, text = check_with({"appservice": {"port": "http"}, "bridge": {"command_prefix": ""}})
tap.is_(status, 1, "-t refuses bad core keys")
port_line, prefix_line = line_of(text, "port: "), line_of(text, "command_prefix")
tap.ok(f"bad.yaml:{port_line}:" in err and f"bad.yaml:{prefix_line}:" in err,
       "every problem is reported, each at its line: " + err)
tap.done()
