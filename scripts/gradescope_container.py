#!/usr/bin/env python3
"""Reproduce Gradescope's container on this machine and measure what the grader keeps out.

Gradescope builds an image by running the autograder's setup.sh as root in a Docker container,
then runs run_autograder once per submission in an ordinary container of that image: root,
Docker's default capabilities and seccomp profile, no namespaces of its own to make. This
script does the same with Debian's docker.io, without Docker Hub:

  1. installs docker.io and debootstrap if they are missing;
  2. starts a private dockerd (own data root, exec root and socket; no bridge, no iptables, so the
     host's network is left alone) and always stops it, and everything it started, at the end;
  3. debootstraps a minimal Debian and imports it as the base image (cached between runs);
  4. builds the autograder zip with `grader gradescope build`, runs its setup.sh unchanged in a
     container of the base image and commits the result (rebuilt when the zip changes);
  5. grades each submission, the bundled ones and generated hostile ones, in its own container
     with no network, and runs `grader isolation` once inside;
  6. prints a markdown table and writes it as JSON to WORK/table.json.

Run as root:  .venv/bin/python scripts/gradescope_container.py [--only NAME] [--fresh] [--keep]
Progress goes to stderr, the table to stdout. Exit 0 when it ran, whatever the scores; 1 when a
step after the setup failed (the zip, setup.sh); 2 when docker or debootstrap could not be set up.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
RUBRIC = "rubrics/assignment2.yaml"
RELEASE = "bookworm"
BASE_IMAGE = "gradescope-base"
AUTOGRADER_IMAGE = "gradescope-autograder"
ZIP_LABEL = "autograder.zip.sha256"
BASE_LABEL = "autograder.base.id"
VENV_IN_IMAGE = "/opt/grader-venv"  # where setup.sh installs the grader
CERT_IN_BUILD = "/pip-build-ca.pem"  # not /etc/ssl/...: the ca-certificates package writes there
DOCKER = "/usr/bin/docker"  # Debian's client, whatever other docker is on PATH
DOCKERD = "/usr/sbin/dockerd"
DEBOOTSTRAP = "/usr/sbin/debootstrap"
SUBMISSION_TIMEOUT = 900
ATTACKED_PREFIX = "conv_matrix."  # every hostile submission here attacks conv_as_matrix

STARTED = time.monotonic()


class SetupError(Exception):
    """docker or debootstrap could not be set up: exit 2."""


class StepError(Exception):
    """A later step failed (zip, setup.sh, a container): exit 1."""


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


# ---- processes -----------------------------------------------------------------------------


def run(cmd, *, check=True, stdin=None, stdout=subprocess.PIPE, timeout=None, env=None) -> subprocess.CompletedProcess:
    """Run cmd in its own process group, so that an interrupt here kills all of it, grandchildren too."""
    process = subprocess.Popen([str(c) for c in cmd], stdin=stdin if stdin is not None else subprocess.DEVNULL,
                               stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        out, _ = process.communicate(timeout=timeout)
    except BaseException:
        kill_group(process)
        raise
    result = subprocess.CompletedProcess(process.args, process.returncode,
                                         out.decode(errors="replace") if out is not None else "")
    if check and result.returncode != 0:
        raise StepError(f"{' '.join(map(str, cmd[:4]))} … failed ({result.returncode}):\n{tail(result.stdout)}")
    return result


def kill_group(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            pass


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def processes_mentioning(*paths: Path) -> set[int]:
    """Pids whose command line names one of paths, and all their descendants (shims and the containers
    under them); never this process or its ancestors, whose command line may name the work folder."""
    parents, ours = {}, set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        args = cmdline.decode(errors="replace").split("\0")
        if any(arg == str(path) or str(path) + "/" in arg for arg in args for path in paths):
            ours.add(int(entry))
    grown = True
    while grown:
        children = {pid for pid, parent in parents.items() if parent in ours} - ours
        ours |= children
        grown = bool(children)
    pid = os.getpid()
    while pid > 1:  # spare ourselves and our ancestors
        ours.discard(pid)
        pid = parents.get(pid, 0)
    return ours


def unmount_under(path: Path) -> None:
    """Lazy-unmount whatever an interrupted debootstrap or dockerd left mounted under path, deepest first."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point == str(path) or point.startswith(str(path) + "/"):
            mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], stderr=subprocess.DEVNULL)


# ---- 1. packages ---------------------------------------------------------------------------


def ensure_packages() -> None:
    """Debian's docker.io and debootstrap, installed without letting apt start a system dockerd."""
    if all(os.access(p, os.X_OK) for p in (DOCKER, DOCKERD, DEBOOTSTRAP)):
        log("docker.io and debootstrap are installed")
        return
    if os.geteuid() != 0:
        raise SetupError("docker.io and debootstrap are missing and only root can install them")
    log("installing docker.io and debootstrap (apt-get)")
    # A policy-rc.d that answers 101 stops the packages' scripts from starting docker and
    # containerd services: a system dockerd would add a bridge and iptables rules to the host.
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "docker.io", "debootstrap"]):
            result = run(cmd, check=False, env=env, timeout=1800)
            if result.returncode != 0:
                raise SetupError(f"{' '.join(cmd)} failed: {tail(result.stdout, 1)}")
    finally:
        if ours:
            policy.unlink(missing_ok=True)
    missing = [p for p in (DOCKER, DOCKERD, DEBOOTSTRAP) if not os.access(p, os.X_OK)]
    if missing:
        raise SetupError(f"installed, but {', '.join(missing)} is still missing")


# ---- 2. a private dockerd ------------------------------------------------------------------


class Docker:
    """A dockerd of our own under WORK, and the client that talks to it."""

    def __init__(self, work: Path):
        self.work = work
        self.socket = work / "docker.sock"
        self.process: subprocess.Popen | None = None
        self.containers: list[str] = []  # removed at the end unless --keep

    def start(self) -> None:
        for folder in ("docker", "exec", "client"):
            (self.work / folder).mkdir(parents=True, exist_ok=True)
        config = self.work / "daemon.json"
        config.write_text("{}\n")  # not the host's /etc/docker/daemon.json
        logfile = open(self.work / "dockerd.log", "ab")
        log(f"starting dockerd (log: {self.work / 'dockerd.log'})")
        self.process = subprocess.Popen(
            [DOCKERD, "--data-root", self.work / "docker", "--exec-root", self.work / "exec",
             "--pidfile", self.work / "dockerd.pid", "--host", f"unix://{self.socket}",
             "--config-file", config, "--bridge=none", "--iptables=false", "--ip6tables=false"],
            stdin=subprocess.DEVNULL, stdout=logfile, stderr=logfile, start_new_session=True)
        logfile.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SetupError(f"dockerd exited ({self.process.returncode}): "
                                 f"{tail((self.work / 'dockerd.log').read_text(errors='replace'), 1)}")
            if self.call("version", check=False, timeout=10).returncode == 0:
                info = self.call("info", "--format", "{{.ServerVersion}} {{.Driver}} {{json .SecurityOptions}}").stdout
                log(f"dockerd is up: {info.strip()}")
                return
            time.sleep(0.5)
        raise SetupError("dockerd did not answer within 90 s")

    def owned_paths(self) -> tuple[Path, Path]:
        """dockerd, containerd and every shim name one of these on their command line."""
        return self.work / "docker", self.work / "exec"

    def call(self, *args, check=True, timeout=None, stdin=None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
        env = dict(os.environ, DOCKER_CONFIG=str(self.work / "client"))  # not ~/.docker
        return run([DOCKER, "--host", f"unix://{self.socket}", *args], check=check, timeout=timeout,
                   stdin=stdin, stdout=stdout, env=env)

    def image_label(self, image: str, label: str) -> str | None:
        result = self.call("image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', image, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def image_id(self, image: str) -> str | None:
        result = self.call("image", "inspect", "--format", "{{.Id}}", image, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def create(self, *args) -> str:
        cid = self.call("create", *args).stdout.strip().splitlines()[-1]
        self.containers.append(cid)
        return cid

    def remove(self, cid: str) -> None:
        self.call("rm", "-f", cid, check=False, timeout=60)
        if cid in self.containers:
            self.containers.remove(cid)

    def stop(self, keep_containers: bool) -> None:
        """Stop dockerd and everything it started; leave no process and no mount behind."""
        if self.process is None:
            return
        if self.process.poll() is None and not keep_containers:
            for cid in list(self.containers):
                self.remove(cid)
        if self.process.poll() is None:
            log("stopping dockerd")
            kill_group(self.process, grace=30)  # SIGTERM first: dockerd stops its containers and containerd
        # containerd and the shims run in sessions of their own: find them by our paths.
        for _ in range(2):  # a shim can outlive the first sweep by a moment
            leftovers = processes_mentioning(*self.owned_paths())
            for pid in leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if leftovers:
                log(f"killed {len(leftovers)} leftover process(es): {sorted(leftovers)}")
                time.sleep(1)
        unmount_under(self.work)
        self.process = None


# ---- 3. the base image ---------------------------------------------------------------------


def apt_entries():
    """(uri, suites, components) of each deb source of this machine, in apt's reading order."""
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")
                                              + glob.glob("/etc/apt/sources.list.d/*.sources"))
    for name in files:
        try:
            text = Path(name).read_text()
        except OSError:
            continue
        if name.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line or line[:1].isspace():
                        continue
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.split()
                if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"])[0] != "no":
                    for uri in fields.get("uris", []):
                        yield uri, fields.get("suites", []), fields.get("components", [])
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
                if len(words) >= 3 and words[0] == "deb":
                    yield words[1], [words[2]], words[3:]


def debian_mirror() -> str:
    """The first of this machine's apt sources that serves RELEASE main: a Debian mirror it can reach."""
    for uri, suites, components in apt_entries():
        if RELEASE in suites and "main" in components:
            return uri
    raise SetupError(f"no apt source of this machine serves '{RELEASE} main' (looked in /etc/apt/sources.list*)")


def ensure_base_image(docker: Docker, work: Path) -> None:
    if docker.image_id(BASE_IMAGE):
        log(f"base image {BASE_IMAGE} is cached")
        return
    mirror = debian_mirror()
    rootfs = work / "rootfs"
    unmount_under(rootfs)
    shutil.rmtree(rootfs, ignore_errors=True)  # a partial tree from an interrupted run is useless
    log(f"debootstrap --variant=minbase {RELEASE} from {mirror} (a few minutes; log: {work / 'debootstrap.log'})")
    with open(work / "debootstrap.log", "wb") as out:
        result = run([DEBOOTSTRAP, "--variant=minbase", RELEASE, rootfs, mirror], check=False, stdout=out, timeout=3600)
    if result.returncode != 0:
        raise SetupError(f"debootstrap failed ({result.returncode}): "
                         f"{tail((work / 'debootstrap.log').read_text(errors='replace'), 1)}")
    log(f"docker import of the root filesystem as {BASE_IMAGE}")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE,
                           start_new_session=True)
    try:
        docker.call("import", "-", BASE_IMAGE, stdin=tar.stdout)
    finally:
        tar.stdout.close()
        kill_group(tar)
    shutil.rmtree(rootfs, ignore_errors=True)  # the image holds it now


# ---- 4. the autograder image ---------------------------------------------------------------


def build_zip(work: Path, project: Path) -> tuple[Path, str]:
    """The project's own zip; another source tree (--project, e.g. `git archive HEAD`) shadows the installed one."""
    grader = Path(sys.executable).parent / "grader"
    if not grader.exists():
        grader = Path(shutil.which("grader") or PROJECT / ".venv/bin/grader")
    target = work / "autograder.zip"
    env = dict(os.environ, PYTHONPATH=str(project)) if project != PROJECT else None
    log(f"grader gradescope build --rubric {RUBRIC} (from {project})")
    result = subprocess.run([str(grader), "gradescope", "build", "--rubric", RUBRIC, "-o", str(target)],
                            cwd=project, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise StepError(f"grader gradescope build failed: {tail(result.stdout + result.stderr, 5)}")
    return target, hashlib.sha256(target.read_bytes()).hexdigest()


def unzip_with_modes(archive: Path, target: Path) -> None:
    """Like unzip: the executable bits of setup.sh and run_autograder survive (zipfile drops them)."""
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = zf.extract(info, target)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(path, mode)


def pip_settings() -> dict[str, str]:
    """This machine's pip configuration as pip would use it: PIP_* variables over files, install over global."""
    listing = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    found: dict[str, dict[str, str]] = {}
    for line in listing.splitlines():
        match = re.match(r"^([^.=]*)\.([\w-]+)='(.*)'$", line)
        if match:
            found.setdefault(match[2], {})[match[1]] = match[3]
    settings = {}
    for key in ("find-links", "index-url", "extra-index-url", "constraint", "cert"):
        value = os.environ.get("PIP_" + key.upper().replace("-", "_")) or found.get(key, {}).get("install") \
            or found.get(key, {}).get("global")
        if value:
            settings[key] = value
    return settings


def local_path(entry: str) -> str | None:
    if entry.startswith("file://"):
        return entry[len("file://"):]
    return os.path.abspath(entry) if "://" not in entry else None


def build_pip_access(settings: dict[str, str]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Read-only binds (source, path inside) and PIP_* variables that give the build container this
    machine's pip setup: its local folders appear at the paths the settings name."""
    named, env = set(), {}
    for key in ("find-links", "index-url", "extra-index-url", "constraint"):
        if key not in settings:
            continue
        env["PIP_" + key.upper().replace("-", "_")] = settings[key]
        for entry in settings[key].split():
            path = local_path(entry)
            if path is None or not os.path.exists(path):
                continue
            # A PEP 503 "simple" folder links to its files relatively (../../files/…): mount the
            # repository above it, unless that is a top-level folder such as /opt.
            if key.endswith("index-url") and len(Path(path).parent.parts) >= 3:
                path = str(Path(path).parent)
            named.add(os.path.normpath(path))
    binds = [(os.path.realpath(path), path) for path in sorted(named)
             if not any(path.startswith(other + "/") for other in named)]
    cert = local_path(settings.get("cert", ""))
    if cert and os.path.isfile(cert):  # the CA that this machine's route to the index needs
        binds.append((os.path.realpath(cert), CERT_IN_BUILD))
        env["PIP_CERT"] = CERT_IN_BUILD
    return binds, env


def tidy_script(targets: list[str]) -> str:
    """Shell that removes the empty mount points the binds left in the container, and their emptied parents."""
    steps = [f"{{ rmdir {shlex.quote(t)} || {{ [ ! -s {shlex.quote(t)} ] && rm -f {shlex.quote(t)}; }}; }} 2>/dev/null; "
             f"rmdir -p --ignore-fail-on-non-empty {shlex.quote(os.path.dirname(t))} 2>/dev/null"
             for t in targets]
    return "; ".join(steps + ["true"])


def ensure_autograder_image(docker: Docker, work: Path, project: Path, keep: bool) -> dict:
    """Gradescope's image build: setup.sh, unchanged, as root in a container of the base image; then commit."""
    archive, sha = build_zip(work, project)
    base_id = docker.image_id(BASE_IMAGE)
    if docker.image_label(AUTOGRADER_IMAGE, ZIP_LABEL) == sha and docker.image_label(AUTOGRADER_IMAGE, BASE_LABEL) == base_id:
        log(f"image {AUTOGRADER_IMAGE} is cached for this zip (sha256 {sha[:12]})")
        return {"zip_sha256": sha, "built": False}
    docker.call("rmi", "-f", AUTOGRADER_IMAGE, check=False)
    source = work / "autograder-source"
    unzip_with_modes(archive, source)
    binds, env = build_pip_access(pip_settings())
    mounts = [a for src, dst in binds for a in ("--mount", f"type=bind,src={src},dst={dst},readonly")]
    log(f"pip setup passed in: {' '.join(f'{k}={v}' for k, v in env.items())}")
    env_args = [a for k, v in env.items() for a in ("--env", f"{k}={v}")]
    cid = docker.create("--network", "host", "--workdir", "/autograder/source", *mounts, *env_args,
                        BASE_IMAGE, "bash", "/autograder/source/setup.sh")
    docker.call("cp", f"{source}/.", f"{cid}:/autograder/source")
    buildlog = work / "setup.log"
    log(f"setup.sh running in the build container (a few minutes; log: {buildlog})")
    started = time.monotonic()
    with open(buildlog, "wb") as out:
        result = docker.call("start", "--attach", cid, check=False, stdout=out, timeout=3600)
    took = time.monotonic() - started
    if result.returncode != 0:
        raise StepError(f"setup.sh failed with exit {result.returncode} after {took:.0f} s; last lines of {buildlog}:\n"
                        + tail(buildlog.read_text(errors="replace")))
    log(f"setup.sh finished in {took:.0f} s")
    # Gradescope puts run_autograder at /autograder/run_autograder once setup.sh has run.
    docker.call("cp", f"{source}/run_autograder", f"{cid}:/autograder/run_autograder")
    docker.call("commit", cid, f"{AUTOGRADER_IMAGE}:build")
    if not keep:
        docker.remove(cid)
    # The bind mounts left empty mount points in the image; a second container removes them.
    cid = docker.create("--network", "none", f"{AUTOGRADER_IMAGE}:build", "bash", "-c",
                        tidy_script([dst for _, dst in binds]))
    docker.call("start", "--attach", cid)
    docker.call("commit", "--change", f"LABEL {ZIP_LABEL}={sha} {BASE_LABEL}={base_id}",
                "--change", 'CMD ["/autograder/run_autograder"]', "--change", "WORKDIR /autograder", cid, AUTOGRADER_IMAGE)
    docker.remove(cid)
    docker.call("rmi", f"{AUTOGRADER_IMAGE}:build", check=False)
    return {"zip_sha256": sha, "built": True, "setup_sh_seconds": round(took, 1)}


# ---- 5. grading in containers --------------------------------------------------------------


CAPABILITIES = ("chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap linux_immutable "
                "net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module sys_rawio "
                "sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource sys_time "
                "sys_tty_config mknod lease audit_write audit_control setfcap mac_override mac_admin syslog "
                "wake_alarm block_suspend audit_read perfmon bpf checkpoint_restore").split()


def isolation_inside(docker: Docker) -> dict:
    """`grader isolation` in a submission-like container, with the container's own capabilities and seccomp mode."""
    script = (f"grep -E '^(CapEff|Seccomp):' /proc/self/status; cd /; PATH={VENV_IN_IMAGE}/bin:$PATH "
              "python3 -I -m grader isolation")
    cid = docker.create("--network", "none", AUTOGRADER_IMAGE, "bash", "-c", script)
    try:
        output = docker.call("start", "--attach", cid, check=False, timeout=300).stdout
    finally:
        docker.remove(cid)
    report = {"raw": output}
    cap = re.search(r"^CapEff:\s*([0-9a-f]+)", output, re.M)
    if cap:
        mask = int(cap[1], 16)
        report["capabilities"] = [name for bit, name in enumerate(CAPABILITIES) if mask >> bit & 1]
    mode = re.search(r"^Seccomp:\s*(\d)", output, re.M)
    report["container_seccomp_mode"] = {"0": "none", "1": "strict", "2": "filter"}.get(mode[1]) if mode else None
    start = output.find("{")
    if start >= 0:
        try:
            report["layers"], end = json.JSONDecoder().raw_decode(output[start:])
            report["strict"] = output[start + end:].strip()
        except ValueError:
            pass
    return report


def rubric_max_score(project: Path) -> float:
    """The assignment's total points, for the metadata, from the project's own rubric loader."""
    code = f"from grader.rubric import load_rubric; print(load_rubric({RUBRIC!r}).max_score)"
    env = dict(os.environ, PYTHONPATH=str(project)) if project != PROJECT else None
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, env=env)
    return float(done.stdout.strip()) if done.returncode == 0 else 0.0


def metadata(name: str, number: int, max_score: float) -> str:
    """A submission_metadata.json shaped like Gradescope's."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return json.dumps({
        "id": 100000 + number, "created_at": now, "submission_method": "upload",
        "assignment": {"id": 1, "title": "Assignment 2", "total_points": max_score, "release_date": now,
                       "due_date": now, "late_due_date": None, "group_submission": False},
        "users": [{"name": name, "email": f"{name}@example.edu", "id": 200000 + number}],
        "previous_submissions": [],
    }, indent=2)


def grade_in_container(docker: Docker, folder: Path, number: int, max_score: float, work: Path, keep: bool) -> dict:
    """One container per submission, as Gradescope: copy the files in, run run_autograder, copy results.json out."""
    name = folder.name
    cid = docker.create("--network", "none", AUTOGRADER_IMAGE, "/autograder/run_autograder")
    try:
        docker.call("cp", f"{folder}/.", f"{cid}:/autograder/submission")
        meta = work / "metadata" / f"{name}.json"
        meta.parent.mkdir(exist_ok=True)
        meta.write_text(metadata(name, number, max_score))
        docker.call("cp", meta, f"{cid}:/autograder/submission_metadata.json")
        started = time.monotonic()
        try:
            result = docker.call("start", "--attach", cid, check=False, timeout=SUBMISSION_TIMEOUT)
            exit_status, output = result.returncode, result.stdout
        except subprocess.TimeoutExpired:
            docker.call("kill", cid, check=False)
            exit_status, output = "timeout", f"killed after {SUBMISSION_TIMEOUT} s"
        took = time.monotonic() - started
        (work / "logs").mkdir(exist_ok=True)
        (work / "logs" / f"{name}.log").write_text(output)
        results = None
        raw = docker_cp_bytes(docker, cid, "/autograder/results/results.json")
        if raw is not None:
            results = json.loads(raw)
            (work / "results").mkdir(exist_ok=True)
            (work / "results" / f"{name}.json").write_bytes(raw)
        return {"seconds": round(took, 1), "exit": exit_status, "results": results}
    finally:
        if not keep:
            docker.remove(cid)


def docker_cp_bytes(docker: Docker, cid: str, path: str) -> bytes | None:
    """A file of a container, or None: `docker cp CID:PATH -` writes a tar holding it."""
    env = dict(os.environ, DOCKER_CONFIG=str(docker.work / "client"))
    copied = subprocess.run([DOCKER, "--host", f"unix://{docker.socket}", "cp", f"{cid}:{path}", "-"],
                            capture_output=True, env=env)
    if copied.returncode != 0:
        return None
    with tarfile.open(fileobj=io.BytesIO(copied.stdout)) as tar:
        member = tar.next()
        return tar.extractfile(member).read()


# ---- 6. hostile submissions ----------------------------------------------------------------

_SHAPE = '''
def _zeros(input_shape, kernel, stride, padding):
    """The right shape, all zeros: a wrong answer, so the item fails and shows what was printed."""
    kh, kw = np.asarray(kernel).shape
    h, w = input_shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    return np.zeros((ho * wo, h * w))


def _run_stolen(path, kernel, input_shape, stride, padding):
    namespace = {"__name__": "stolen"}
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), namespace)
    return namespace["conv_as_matrix"](kernel, input_shape, stride, padding)


_SAID = []


def _say(text):
    """Once per process: the grader shows a failed item's output, and a property item calls us many times."""
    if not _SAID:
        _SAID.append(text)
        print("ATTACK: " + text)
'''

HOSTILE = {
    "steal_reference_by_path": '''
def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    site = os.path.dirname(os.path.dirname(np.__file__))
    path = os.path.join(site, "reference", "conv_matrix.py")
    _say("opening " + path)
    return _run_stolen(path, kernel, input_shape, stride, padding)
''',
    "search_filesystem": '''
import sys

_WANTED = {"theory.py", "rubric.yaml", "assignment2.yaml"}
_FOUND = []


def _search():
    """Walk every folder that can be listed; remember conv_matrix.py files (not this one) and secrets.

    From / first; where / cannot be listed, from the folders Python itself names (sys.path, its
    prefix) and the usual tops, as an attacker would.
    """
    mine = os.path.realpath(__file__)
    stolen, seen, visited = [], [], set()
    tops = ["/", *sys.path, sys.prefix, sys.base_prefix, "/opt", "/usr", "/autograder", "/home", "/root", "/srv",
            "/tmp", "/var"]
    for top in tops:
        for root, dirs, files in os.walk(top or ".", onerror=lambda error: None):
            real = os.path.realpath(root)
            if real in visited or real.split("/")[1:2] in (["proc"], ["sys"], ["dev"]):
                dirs[:] = []
                continue
            visited.add(real)
            dirs.sort()
            _look(root, files, mine, stolen, seen)
    # the reference itself first, the named mistakes last
    stolen = sorted(set(stolen), key=lambda p: ("mistakes" in p, not p.endswith("reference/conv_matrix.py")))
    return stolen, sorted(set(seen))


def _look(root, files, mine, stolen, seen):
    for name in sorted(files):
        path = os.path.join(root, name)
        if name in _WANTED:
            seen.append(path)
        elif name == "conv_matrix.py" and os.path.realpath(path) != mine:
            try:
                with open(path) as f:
                    if "_SEARCH_MARKER" not in f.read():  # not a copy of this attack
                        stolen.append(path)
            except OSError:
                pass


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    # _SEARCH_MARKER
    if not _FOUND:
        _FOUND.append(_search())
    stolen, seen = _FOUND[0]
    _say(f"conv_matrix.py found: {stolen[:3]}; secrets seen: {seen[:5]}")
    if stolen:
        return _run_stolen(stolen[0], kernel, input_shape, stride, padding)
    return _zeros(input_shape, kernel, stride, padding)
''',
    "read_autograder_source": '''
def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    outcome = []
    for path in ("/autograder/source/rubric.yaml", "/autograder/source/project/reference/conv_matrix.py"):
        try:
            with open(path) as f:
                outcome.append(f"read {path} ({len(f.read())} chars)")
        except OSError as error:
            outcome.append(f"{path}: {type(error).__name__} {error.strerror}")
    _say("; ".join(outcome))
    if outcome[-1].startswith("read "):
        return _run_stolen("/autograder/source/project/reference/conv_matrix.py", kernel, input_shape, stride, padding)
    return _zeros(input_shape, kernel, stride, padding)
''',
    # A documentation address (RFC 5737) stands for "anywhere outside": the question is only
    # whether a route out exists, and no real host could ever receive the datagram.
    "udp_out": '''
import socket


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    outcome = []
    for host in ("127.0.0.1", "192.0.2.1"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b"grader?", (host, 53))
            outcome.append(f"{host}:53 reachable")
        except OSError as error:
            outcome.append(f"{host}:53 blocked ({type(error).__name__} {error.strerror})")
    _say("; ".join(outcome))
    return _zeros(input_shape, kernel, stride, padding)
''',
    "unix_socket": '''
import socket
import stat


def _sockets():
    found = []
    for top in ("/tmp", "/run", "/var/run", "/dev/shm"):
        for root, dirs, files in os.walk(top, onerror=lambda error: None):
            for name in files:
                path = os.path.join(root, name)
                try:
                    if stat.S_ISSOCK(os.lstat(path).st_mode):
                        found.append(path)
                except OSError:
                    pass
    try:  # every socket of the network namespace, abstract ones as "@name", even in folders it cannot list
        with open("/proc/net/unix") as f:
            names = [line.split()[-1] for line in f.read().splitlines()[1:] if len(line.split()) > 7]
        found += ["\\0" + n[1:] if n.startswith("@") else n for n in names]
    except OSError as error:
        found.append(f"(/proc/net/unix: {type(error).__name__})")
    return list(dict.fromkeys(found)) + ["\\0grader", "\\0/tmp/.X11-unix/X0"]


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    outcome = []
    for address in _sockets():
        if address.startswith("("):
            outcome.append(address)
            continue
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1)
                s.connect(address)
            outcome.append(f"{address!r} connected")
        except OSError as error:
            outcome.append(f"{address!r} blocked ({type(error).__name__})")
    _say("; ".join(outcome) or "no socket found")
    return _zeros(input_shape, kernel, stride, padding)
''',
    # No socket() call at all: a datagram pair, whose sendto() with an address reaches any named socket.
    "socket_pair_out": '''
import socket


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    outcome = []
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        try:
            a, b = socket.socketpair(socket.AF_UNIX, kind)
            a.sendto(b"grader?", "/dev/log")
            outcome.append(f"{kind.name} pair sent")
        except OSError as error:
            outcome.append(f"{kind.name} pair blocked ({type(error).__name__} {error.strerror})")
    _say("; ".join(outcome))
    return _zeros(input_shape, kernel, stride, padding)
''',
    # System V IPC outlives the process: without an IPC namespace, a message queue or a shared memory
    # segment would carry what one child saw to another, and hold memory after the kill.
    "sysv_ipc": '''
import ctypes


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    libc = ctypes.CDLL(None, use_errno=True)
    outcome = []
    for name, call in (("msgget", lambda: libc.msgget(0x51DE, 0o1666)),
                       ("shmget 512 MiB", lambda: libc.shmget(0x5A00, 512 << 20, 0o1600))):
        result = call()
        outcome.append(f"{name} {'blocked (' + os.strerror(ctypes.get_errno()) + ')' if result == -1 else 'created'}")
    _say("; ".join(outcome))
    return _zeros(input_shape, kernel, stride, padding)
''',
}


def make_hostile(work: Path, bundled: Path) -> list[Path]:
    """Copies of ada_lovelace, each with a conv_matrix.py that attacks the grader."""
    base = bundled / "ada_lovelace"
    folders = []
    for name, body in HOSTILE.items():
        target = work / "hostile" / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(base, target)
        header = f'"""Hostile: {name.replace("_", " ")}."""\nimport os\n\nimport numpy as np\n'
        (target / "conv_matrix.py").write_text(header + _SHAPE + body)
        folders.append(target)
    return folders


# ---- 7. the table --------------------------------------------------------------------------


def summarise(name: str, hostile: bool, outcome: dict) -> dict:
    results = outcome["results"] or {}
    tests = results.get("tests", [])
    row = {"submission": name, "hostile": hostile, "seconds": outcome["seconds"], "exit": outcome["exit"],
           "score": results.get("score"), "max": (results.get("extra_data") or {}).get("max_score"),
           "items": {t.get("number"): t.get("score") for t in tests},
           "isolation": (results.get("extra_data") or {}).get("isolation")}
    attacked = [t for t in tests if str(t.get("number", "")).startswith(ATTACKED_PREFIX)]
    others = [t for t in tests if t not in attacked]
    row["attacked_points"] = sum(t["score"] for t in attacked)
    row["attacked_max"] = sum(t["max_score"] for t in attacked)
    row["others_lost"] = round(sum(t["max_score"] - t["score"] for t in others), 6)
    evidence = [line[len("ATTACK: "):] for t in attacked for line in str(t.get("output", "")).splitlines()
                if line.startswith("ATTACK: ")]
    row["evidence"] = evidence[0] if evidence else ""
    if not tests:
        row["verdict"] = "NOT GRADED: " + str(results.get("output", "no results.json"))[:120].replace("\n", " ")
    elif not hostile:
        row["verdict"] = "full marks" if row["score"] == row["max"] else "graded"
    else:
        # Loopback inside a container without network reaches nothing of the host's.
        reached = "192.0.2.1:53 reachable" in row["evidence"] or " connected" in row["evidence"]
        leak = row["attacked_points"] > 0 or reached
        row["verdict"] = "LEAK" if leak else "contained"
        if row["others_lost"]:
            row["verdict"] += f" (other items lost {row['others_lost']:g})"
    return row


def markdown(rows: list[dict], isolation: dict) -> str:
    lines = ["| submission | score / max | attacked items' points | verdict | time |",
             "|---|---|---|---|---|"]
    for r in rows:
        attacked = f"{r['attacked_points']:g} / {r['attacked_max']:g}" if r["hostile"] else "—"
        score = f"{r['score']:g} / {r['max']:g}" if r["score"] is not None and r["max"] is not None else "—"
        lines.append(f"| {r['submission']}{' (hostile)' if r['hostile'] else ''} | {score} | {attacked} "
                     f"| {r['verdict']} | {r['seconds']:.0f} s |")
    evidence = [r for r in rows if r["hostile"] and r["evidence"]]
    if evidence:
        lines += ["", "What the attacks saw (their own printed line, from the failed item's output):", ""]
        lines += [f"- `{r['submission']}`: {r['evidence'][:400]}" for r in evidence]
    layers = isolation.get("layers") or {}
    keys = ("process", "namespaces", "network", "hidden_paths", "disk", "unprivileged_uid", "no_new_privs",
            "filesystem", "landlock", "seccomp")
    shown = ", ".join(f"{k}={json.dumps(layers[k])}" for k in keys if k in layers)
    shown += "".join(f", {k}={json.dumps(v)}" for k, v in layers.items() if k not in keys and k != "rlimits")
    lines += ["", f"Isolation inside the container (`grader isolation`): {shown or isolation.get('raw', '')[:300]}",
              f"{isolation.get('strict', '')}",
              f"Container: seccomp mode {isolation.get('container_seccomp_mode')}, capabilities "
              f"{', '.join(isolation.get('capabilities', []))}"]
    return "\n".join(lines)


# ---- main ----------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", nargs="+", type=Path, default=[PROJECT / "submissions"], metavar="DIR",
                        help="folders of submissions, one subfolder each (default: the bundled submissions/)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="grade only this submission (repeat, or give a comma-separated list)")
    parser.add_argument("--skip-bundled", action="store_true", help="grade only the hostile submissions")
    parser.add_argument("--fresh", action="store_true", help="rebuild the base and autograder images from scratch")
    parser.add_argument("--keep", action="store_true",
                        help="keep the stopped containers in WORK's data root, to inspect them later")
    parser.add_argument("--project", type=Path, default=PROJECT, metavar="DIR",
                        help="source tree to build the autograder zip from (default: this checkout, "
                             "uncommitted edits included; e.g. a `git archive HEAD` export to measure the last commit)")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/grader-container"),
                        help="work folder, kept between runs for its caches (default: %(default)s)")
    return parser.parse_args(argv)


def choose(args, work: Path) -> list[tuple[Path, bool]]:
    chosen = []
    if not args.skip_bundled:
        for folder in args.submissions:
            chosen += [(p, False) for p in sorted(Path(folder).iterdir()) if p.is_dir() and not p.name.startswith(".")]
    chosen += [(p, True) for p in make_hostile(work, PROJECT / "submissions")]
    only = {n for item in args.only for n in item.split(",") if n}
    if only:
        chosen = [c for c in chosen if c[0].name in only]
        missing = only - {c[0].name for c in chosen}
        if missing:
            raise StepError(f"no submission named {', '.join(sorted(missing))}")
    return chosen


def fresh(work: Path) -> None:
    """Forget the cached images: dockerd is not running yet, so its data root can go."""
    unmount_under(work)
    for part in ("docker", "exec", "rootfs", "autograder-source", "autograder.zip"):
        path = work / part
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    work = args.work.resolve()
    # SIGTERM and SIGHUP clean up like Ctrl-C does.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    phases: dict[str, float] = {}
    docker = Docker(work)

    def phase(name, started):
        phases[name] = round(time.monotonic() - started, 1)

    try:
        if os.geteuid() != 0:
            raise SetupError("run as root: dockerd and debootstrap need it")
        t = time.monotonic(); ensure_packages(); phase("packages", t)
        work.mkdir(parents=True, exist_ok=True)
        if processes_mentioning(*docker.owned_paths()):
            raise SetupError(f"processes from an earlier run still use {work}: "
                             f"{sorted(processes_mentioning(*docker.owned_paths()))}")
        if args.fresh:
            fresh(work)
        t = time.monotonic(); docker.start(); phase("dockerd start", t)
        t = time.monotonic(); ensure_base_image(docker, work); phase("base image", t)
        t = time.monotonic(); image = ensure_autograder_image(docker, work, args.project.resolve(), args.keep); phase("autograder image", t)
        chosen = choose(args, work)
        t = time.monotonic(); isolation = isolation_inside(docker); phase("isolation check", t)
        log(f"isolation inside: {json.dumps(isolation.get('layers'))}")
        rows, max_score = [], rubric_max_score(args.project.resolve())
        t = time.monotonic()
        for number, (folder, hostile) in enumerate(chosen, 1):
            log(f"[{number}/{len(chosen)}] grading {folder.name}{' (hostile)' if hostile else ''}")
            outcome = grade_in_container(docker, folder, number, max_score, work, args.keep)
            row = summarise(folder.name, hostile, outcome)
            rows.append(row)
            log(f"[{number}/{len(chosen)}] {folder.name}: {row['score']} / {row['max']} in {row['seconds']} s — {row['verdict']}")
        phase("grading", t)
        table = markdown(rows, isolation)
        print(table)
        (work / "table.json").write_text(json.dumps(
            {"rows": rows, "isolation": isolation, "image": image, "phases_seconds": phases, "markdown": table}, indent=2))
        log(f"phases (s): {json.dumps(phases)}; table written to {work / 'table.json'}")
        return 0
    except SetupError as error:
        print(f"gradescope_container: {error}", file=sys.stderr)
        return 2
    except StepError as error:
        print(f"gradescope_container: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gradescope_container: interrupted", file=sys.stderr)
        return 130
    finally:
        docker.stop(args.keep)


if __name__ == "__main__":
    sys.exit(main())
