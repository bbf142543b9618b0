"""Command-line entry point. Argument parsing and printing only; the work lives in grader.api."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from grader import __version__

DEFAULT_RUBRIC = "rubrics/assignment2.yaml"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader",
        description="Grade numerical deep-learning submissions against trusted references.",
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command")

    rubric = commands.add_parser("rubric", help="work with rubric files")
    rubric_commands = rubric.add_subparsers(dest="rubric_command", required=True)
    validate = rubric_commands.add_parser("validate", help="check a rubric completely, without running student code")
    validate.add_argument("file", help="the rubric YAML file")

    grade = commands.add_parser("grade", help="grade every submission (folder or .zip) in a folder")
    grade.add_argument("submissions", help="folder holding one folder or .zip per student")
    grade.add_argument("--rubric", default=DEFAULT_RUBRIC, help=f"rubric file (default {DEFAULT_RUBRIC})")
    grade.add_argument("--out", default="results", help="where reports go (default results/)")
    grade.add_argument("--jobs", type=_positive, default=os.cpu_count() or 1, help="submissions graded at once (default: cores)")
    grade.add_argument("--resume", action="store_true", help="keep results already written for the same rubric and submission")
    grade.add_argument("--strict", action=argparse.BooleanOptionalAction, default=None,
                       help="refuse to grade without every isolation layer (default: on with --backend ray, off locally)")
    grade.add_argument("--backend", choices=("local", "ray"), default="local",
                       help="local: a process pool on this machine (default); ray: one task per submission on a Ray cluster")
    grade.add_argument("--address", help="with --backend ray: the cluster to join (default RAY_ADDRESS, else a local "
                                         "instance of --jobs CPUs)")

    check = commands.add_parser("check", help="run the visible checks on your own submission")
    check.add_argument("submission", nargs="?", default=".", help="your submission folder (default: here)")
    check.add_argument("--rubric", help=f"a rubric, or a kit's .selfcheck/checks.bin (default: the kit the folder, or the "
                                        f"working folder, is; else {DEFAULT_RUBRIC})")
    check.add_argument("--json", metavar="FILE", help="also write the result, with its timings, to FILE as JSON")

    gradescope = commands.add_parser("gradescope", help="build or run the Gradescope autograder")
    gradescope_commands = gradescope.add_subparsers(dest="gradescope_command", required=True)
    build = gradescope_commands.add_parser("build", help="write the autograder zip to upload")
    build.add_argument("--rubric", default=DEFAULT_RUBRIC, help=f"rubric file (default {DEFAULT_RUBRIC})")
    build.add_argument("-o", "--output", default="autograder.zip", help="the zip to write (default autograder.zip)")
    run = gradescope_commands.add_parser("run", help="grade /autograder/submission into /autograder/results")
    run.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"), help="the autograder root")
    trusted = gradescope_commands.add_parser("trusted-paths", help="print the installed files student code must never "
                                             "read (the grader, the rubric's reference packages), one per line")
    trusted.add_argument("rubric", help="the rubric whose reference packages to list")

    audit = commands.add_parser("audit", help="measure a rubric's strength by grading mutants of its reference")
    audit.add_argument("--rubric", default=DEFAULT_RUBRIC, help=f"rubric file (default {DEFAULT_RUBRIC})")
    audit.add_argument("--out", default="audit", help="where audit.json, audit.html and survivors/ go (default audit/)")
    audit.add_argument("--jobs", type=_positive, default=os.cpu_count() or 1, help="mutants graded at once (default: cores)")
    audit.add_argument("--training", action="store_true", help="also audit training items (each mutant trains a model)")

    kit = commands.add_parser("kit", help="build the student kit: the visible checks without the solutions")
    kit_commands = kit.add_subparsers(dest="kit_command", required=True)
    kit_build = kit_commands.add_parser("build", help="write the kit as a folder, or a zip when -o ends in .zip")
    kit_build.add_argument("--rubric", default=DEFAULT_RUBRIC, help=f"rubric file (default {DEFAULT_RUBRIC})")
    kit_build.add_argument("-o", "--output", required=True, help="the folder (new or empty) or .zip to write")

    commands.add_parser("isolation", help="show the isolation layers student code gets on this machine, as JSON")
    doctor = commands.add_parser("doctor", help="check which isolation layers work here and what strict grading would refuse")
    doctor.add_argument("--rubric", default=DEFAULT_RUBRIC, help=f"rubric whose required layers to check (default {DEFAULT_RUBRIC})")
    return parser


def _rubric_or_report(path: str, summary: bool = False, secret: bool = True):
    """The validated rubric, or None after printing every problem to stderr."""
    from grader.rubric import RubricError, load_rubric

    try:
        return load_rubric(path, secret=secret)
    except RubricError as error:
        print("\n".join(error.problems), file=sys.stderr)
        if summary:
            print(f"{len(error.problems)} problem{'s' if len(error.problems) != 1 else ''} in {path}", file=sys.stderr)
        return None


def describe_progress(item_id: str, report: dict) -> str:
    """One line for a long check's progress: which run, which epoch, the loss, the time left."""
    text = f"{item_id}"
    if report.get("run"):
        text += f" ({report['run']})"
    if "epoch" in report and "epochs" in report:
        text += f", epoch {report['epoch']:.0f}/{report['epochs']:.0f}"
    if "loss" in report:
        text += f", loss {report['loss']:.3f}"
    if report.get("left_s") is not None:
        text += f", about {report['left_s']:.0f} s left"
    return text


def validate_rubric(path: str) -> int:
    rubric = _rubric_or_report(path, summary=True)
    if rubric is None:
        return 2
    kinds: dict[str, int] = {}
    for item in rubric.items:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print(f"{path}: valid; {len(rubric.items)} items ({summary}), {rubric.max_score:g} points")
    return 0


def _start_batch(rubric_path: str, jobs: int) -> None:
    """The zygote and the workers' fork server import torch while this process does."""
    _launch_zygote(rubric_path)
    if jobs > 1:
        from grader.pool import start_early

        start_early()


def _progress_bar(console):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    return Progress(*columns, console=console, transient=True)


def grade(args) -> int:
    strict = args.strict if args.strict is not None else args.backend == "ray"
    if args.backend == "ray":
        try:
            import grader.backends.ray  # noqa: F401  (only to say early that Ray is missing)
        except ImportError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    else:
        _start_batch(args.rubric, args.jobs)
    from rich.console import Console
    from rich.table import Table

    from grader.api import find_submissions
    from grader.batch import OutputError, grade_folder
    from grader.boundary import IsolationError
    from grader.checks.training import DataError
    from grader.reports.html import write_html_reports
    from grader.text import terminal

    console = Console()
    rubric = _rubric_or_report(args.rubric)
    if rubric is None:
        return 2
    if rubric.secret is None:
        rubric = _with_new_secret(args.rubric, console)
        if rubric is None:
            return 2
    if not os.path.isdir(args.submissions):
        print(f"error: {args.submissions} is not a folder; give the folder that holds one folder or .zip per student", file=sys.stderr)
        return 2
    with _progress_bar(console) as progress:
        task = progress.add_task("grading", total=len(find_submissions(args.submissions)))
        try:
            batch = grade_folder(
                args.submissions, rubric, args.out, jobs=args.jobs, resume=args.resume, strict=strict,
                backend=args.backend, address=args.address,
                on_start=lambda name: progress.update(task, description=f"grading {name}"),
                on_done=lambda result, resumed: progress.advance(task),
                on_progress=lambda name, item_id, report: progress.update(
                    task, description=f"grading {name}: {describe_progress(item_id, report)}"),
            )
        except (IsolationError, DataError, OutputError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    results = sorted(batch.results, key=lambda r: r.student)
    try:
        dashboard = write_html_reports(results, rubric, Path(args.out))
    except OSError as error:
        print(f"error: cannot write the HTML reports to {args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    table = Table(title=terminal(f"{rubric.title}: {len(results)} submissions in {batch.seconds:.1f} s"
                                 + (f" ({len(batch.resumed)} kept from an earlier run)" if batch.resumed else "")))
    table.add_column("student")
    table.add_column("score", justify="right")
    table.add_column("not passed")
    for result in results:
        lost = [f"{i.id} ({i.status}{', ' + i.diagnosis if i.diagnosis else ''})" for i in result.items if i.status != "passed"]
        table.add_row(terminal(result.student), f"{result.score:g} / {result.max_score:g}", terminal("\n".join(lost) or "-"))
    console.print(table)
    console.print(f"Reports: {dashboard} (class dashboard), {Path(args.out) / 'gradebook.csv'}, "
                  f"and {Path(args.out)}/<student>/ (result.json, feedback.md, report.html); log: {Path(args.out) / 'grading.log'}",
                  markup=False, highlight=False)
    return 0


def _with_new_secret(rubric_path: str, console):
    """The rubric with a grading secret made for it: final grading never draws the kit's inputs."""
    from grader.secret import create_secret

    try:
        path, made = create_secret(rubric_path)
    except OSError as error:
        print(f"error: cannot write the grading secret next to {rubric_path} ({error.strerror or error}); "
              f"set GRADER_SECRET_FILE to a file you can write", file=sys.stderr)
        return None
    if made:
        console.print(f"Made the grading secret {path}: it seeds the generated inputs of final grading, which a student "
                      f"kit does not hold. Keep it (and out of what students see): grades are reproducible with it.",
                      markup=False, highlight=False)
    return _rubric_or_report(rubric_path)


def _launch_zygote(rubric_path, kit: bool = False) -> None:
    """Start the zygote's imports before this process's own, so that the two overlap."""
    from grader.boundary.zygote import shared_zygote

    if kit:
        from grader.kit import kit_summary

        trains = bool((kit_summary(rubric_path) or {}).get("trains"))
    else:
        from grader.rubric import trains as rubric_trains

        trains = rubric_trains(rubric_path, visible_only=True)
    shared_zygote(trains).launch()


def _self_check_source(args) -> tuple[str | None, str | None]:
    """(what the self-check grades from, and whether it is a kit's record), found without loading it:
    --rubric (a rubric, or a kit's checks.bin), else the kit the folder (or the working folder) is,
    else the default rubric. (None, why) when there is none."""
    from grader.kit import find_kit, is_kit_file, kit_above

    if args.rubric:
        return args.rubric, "kit" if is_kit_file(args.rubric) else "rubric"
    kit = (find_kit(args.submission) if os.path.isdir(args.submission) else None) or find_kit(".")
    if kit is not None:
        return str(kit), "kit"
    if os.path.exists(DEFAULT_RUBRIC):
        return DEFAULT_RUBRIC, "rubric"
    above = kit_above(args.submission if os.path.isdir(args.submission) else ".")
    where = (f"run grader check in {above}, the kit's folder" if above else
             "run grader check inside the kit's folder (the one with the .selfcheck folder), or pass --rubric")
    return None, f"{os.path.abspath(args.submission)} is not a self-check kit; {where}"


def _self_check_rubric(source: str, kind: str, console):
    """The rubric a self-check grades from: the kit's record, or the instructor's rubric recorded
    the same way (so both give the same verdicts). None after printing why not."""
    from grader.kit.record import KitError, load_kit_file, self_check_rubric

    try:
        if kind == "kit":
            console.print(f"Checks from {source}", markup=False, highlight=False, style="dim")
            return load_kit_file(source)
        rubric = _rubric_or_report(source, secret=False)
        if rubric is None:
            return None
        with console.status("recording the reference's answers for the self-check (kept for next time)"):
            return self_check_rubric(rubric)
    except KitError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def check(args) -> int:
    if not os.path.exists(args.submission):
        print(f"error: {args.submission} does not exist; give your submission folder", file=sys.stderr)
        return 2
    source, kind = _self_check_source(args)
    if source is None:
        print(f"error: {kind}", file=sys.stderr)
        return 2
    _launch_zygote(source, kit=kind == "kit")  # its imports overlap with this process's
    from rich.console import Console

    from grader.api import grade_submission
    from grader.boundary.doctor import self_check_notes
    from grader.checks.training import DataError
    from grader.files import write_text_atomically
    from grader.reports.terminal import print_check

    console = Console()
    rubric = _self_check_rubric(source, kind, console)
    if rubric is None:
        return 2
    try:
        with console.status("running the visible checks") as status:
            result = grade_submission(args.submission, rubric, progress=lambda item_id, report: status.update(
                describe_progress(item_id, report)))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_check(console, result, {item.id: item.call for item in rubric.items if item.call},
                title=f"{rubric.title}: self-check of {result.student}", unseen=list(rubric.withheld),
                notes=self_check_notes(result.isolation))
    if args.json:
        write_text_atomically(args.json, result.to_json())
    return 0 if all(item.status == "passed" for item in result.items) else 1


def kit(args) -> int:
    from rich.console import Console

    from grader.kit.build import write_kit
    from grader.kit.record import KitError

    rubric = _rubric_or_report(args.rubric, secret=False)
    if rubric is None:
        return 2
    console = Console(stderr=True)
    try:
        with console.status("recording the visible checks") as status:
            path = write_kit(rubric, args.output, [Path(p) for p in rubric.kit_documents],
                             progress=lambda item_id, done, total: status.update(f"recording {item_id}: {done}/{total} inputs"))
    except (KitError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}: publish it with the assignment; it holds no solution and no hidden item")
    return 0


def audit(args) -> int:
    _start_batch(args.rubric, args.jobs)
    from rich.console import Console

    from grader import audit as auditing
    from grader.batch import OutputError
    from grader.boundary import IsolationError
    from grader.checks.training import DataError
    from grader.reports.audit import print_report, write_report

    rubric = _rubric_or_report(args.rubric)
    if rubric is None:
        return 2
    console = Console()
    out = Path(args.out)
    with _progress_bar(console) as progress:
        task = progress.add_task("building mutants of the reference", total=None)
        try:
            report = auditing.run(
                rubric, jobs=args.jobs, training=args.training, keep=out / "survivors",
                on_planned=lambda count: progress.update(task, total=count, description="grading mutants"),
                on_done=lambda name: progress.advance(task),
            )
        except (IsolationError, DataError, OutputError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    try:
        data, page = write_report(report, out)
    except OSError as error:
        print(f"error: cannot write the audit to {out}: {error.strerror or error}", file=sys.stderr)
        return 2
    print_report(report, console)
    kept = f", and the surviving mutants as submissions in {out / 'survivors'}" if report.survivors() else ""
    console.print(f"Reports: {page}, {data}{kept}", markup=False, highlight=False)
    return 1 if report.failed() else 0


def gradescope(args) -> int:
    from grader import gradescope as autograder

    if args.gradescope_command == "build":
        try:
            path = autograder.build(Path(args.rubric), Path(args.output))
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"wrote {path}: upload it as the assignment's autograder")
        return 0
    if args.gradescope_command == "trusted-paths":
        from grader.api import installed_trusted_paths

        rubric = _rubric_or_report(args.rubric)
        if rubric is None:
            return 2
        print("\n".join(installed_trusted_paths(rubric)))
        return 0
    return autograder.run(Path(args.root))


def isolation() -> int:
    from grader.api import probe_isolation
    from grader.boundary import STRICT_LAYERS

    report = probe_isolation()
    print(json.dumps(report, indent=2))
    missing = [layer for layer in STRICT_LAYERS if not report.get(layer)]
    print("strict mode: " + ("available" if not missing else f"unavailable, missing {', '.join(missing)}"))
    return 0


def doctor(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from grader.api import probe_isolation
    from grader.boundary import STRICT_LAYERS
    from grader.boundary.doctor import host_layers, missing_layers

    report = probe_isolation()
    table = Table(title="Isolation layers on this machine")
    for column in ("layer", "works here", "used", "what it stops"):
        table.add_column(column)
    for layer in host_layers(report):
        table.add_row(layer.name, "yes" if layer.works else "no", "yes" if layer.used else "no", layer.detail)
    console = Console()
    console.print(table)
    strict_missing = missing_layers(report, STRICT_LAYERS)
    console.print("grader grade --strict: " + ("would run" if not strict_missing else
                  f"would refuse, missing {', '.join(strict_missing)}"), markup=False, highlight=False)
    if not os.path.exists(args.rubric):
        console.print(f"no rubric at {args.rubric}: only the machine was checked", markup=False, highlight=False)
        return 0
    rubric = _rubric_or_report(args.rubric)
    if rubric is None:
        return 2
    missing = missing_layers(report, rubric.requires)
    console.print(f"{args.rubric} requires {', '.join(rubric.requires) or 'no layer'}: "
                  + ("all present" if not missing else f"MISSING {', '.join(missing)}; grading would refuse"),
                  markup=False, highlight=False)
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "rubric":
        return validate_rubric(args.file)
    if args.command == "grade":
        return grade(args)
    if args.command == "check":
        return check(args)
    if args.command == "kit":
        return kit(args)
    if args.command == "gradescope":
        return gradescope(args)
    if args.command == "audit":
        return audit(args)
    if args.command == "isolation":
        return isolation()
    if args.command == "doctor":
        return doctor(args)
    parser.print_help()
    return 0


def run() -> None:
    """The console script: main(), then a quick exit.

    Every report is written and flushed by then; tearing down torch and the zygote
    the slow way would add most of a second to every command.
    """
    from grader.boundary.zygote import close_shared
    from grader.pool import remove_leftovers

    try:
        code = main()
    except SystemExit as stop:  # argparse's --help, --version and usage errors
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    except KeyboardInterrupt:
        code = 130
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    close_shared()
    remove_leftovers()
    os._exit(code)
