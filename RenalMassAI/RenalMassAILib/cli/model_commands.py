"""`models`: list, verify and import model packages; import the authors' checkpoints."""

import argparse


def add_models(commands) -> argparse.ArgumentParser:
    """`models list | verify | import | import-authors`."""
    models = commands.add_parser("models", help="installed model packages")
    model_commands = models.add_subparsers(metavar="ACTION", required=True)
    listing = model_commands.add_parser("list", help="installed packages and where they are")
    listing.set_defaults(run=_run_models_list)
    verify = model_commands.add_parser("verify", help="check a package's card and SHA-256")
    verify.add_argument("package")
    verify.set_defaults(run=_run_models_verify)
    install = model_commands.add_parser("import", help="install a package folder or .zip (offline) into the registry")
    install.add_argument("package")
    install.set_defaults(run=_run_models_import)
    authors = model_commands.add_parser("import-authors", help="turn an authors' checkpoint into a package")
    authors.add_argument("checkpoint")
    authors.add_argument("--task", required=True, choices=("malignancy", "aggressiveness"))
    authors.add_argument("--phases", nargs="+", required=True, metavar="PHASE", help="the branches' phases, in order")
    authors.add_argument("--id", default=None)
    authors.add_argument("--version", default="1.0")
    authors.add_argument(
        "--sum-input-channels",
        action="store_true",
        help="a conv1 with several input channels (the authors' Res18 default: 16) saw the same slice "
        "in every channel: sum its filters into one channel (exact for such input)",
    )
    authors.add_argument("--out", required=True)
    authors.set_defaults(run=_run_models_import_authors)
    return models


def _run_models_list(args) -> int:
    from RenalMassAILib.classify.model_registry import builtin_dir, list_installed, registry_dir

    print(f"registry: {registry_dir()} (RENALMASSAI_MODELS); bundled: {builtin_dir()}")
    for installed in list_installed():
        card = installed.card
        if card is None:
            print(f"  UNUSABLE {installed.path}: {installed.problem}")
            continue
        print(
            f"  {card.label}: tasks {', '.join(card.tasks)}; phases {' '.join(card.phases)}"
            f"{' (any subset)' if card.accepts_phase_subsets else ''}; {card.architecture}; "
            f"preprocessing {card.preprocessing.name}; {installed.path}"
        )
    return 0


def _run_models_verify(args) -> int:
    from RenalMassAILib.classify.model_package import load_package

    package = load_package(args.package)
    print(
        f"OK {package.card.label}: SHA-256 {package.card.sha256} matches; weights load into {package.card.architecture}"
    )
    return 0


def _run_models_import(args) -> int:
    from RenalMassAILib.classify.model_registry import install

    print(f"installed {install(args.package)}")
    return 0


def _run_models_import_authors(args) -> int:
    from RenalMassAILib.classify.authors_import import import_authors_checkpoint

    path = import_authors_checkpoint(
        args.checkpoint, args.task, args.phases, args.out, args.id, args.version, args.sum_input_channels
    )
    print(f"wrote model package {path}")
    return 0
