"""Rewrites the SCRIPTS and RESOURCES lists of RenalMassAI/CMakeLists.txt from the files on disk.

    .venv/bin/python scripts/update_cmake_lists.py
(Testing/test_extension_layout.py fails while the lists and the files disagree.)
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "RenalMassAI"


def main() -> None:
    scripts = ["RenalMassAI.py", *sorted(str(p.relative_to(MODULE)) for p in (MODULE / "RenalMassAILib").rglob("*.py"))]
    resources = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "Resources").rglob("*") if p.is_file())
    cmake = MODULE / "CMakeLists.txt"
    text = cmake.read_text()
    for name, files in (("MODULE_PYTHON_SCRIPTS", scripts), ("MODULE_PYTHON_RESOURCES", resources)):
        body = "\n".join(f"  {f}" for f in files)
        text = re.sub(
            rf"set\({name}\n.*?\n(\s*)\)",
            lambda m, name=name, body=body: f"set({name}\n{body}\n{m.group(1)})",
            text,
            flags=re.S,
        )
    cmake.write_text(text)
    print(f"{cmake}: {len(scripts)} scripts, {len(resources)} resources")


if __name__ == "__main__":
    main()
