"""Sending the written DICOM objects to a PACS by C-STORE (pynetdicom), one association for all."""

import dataclasses
from pathlib import Path

import pydicom
from pynetdicom import AE

from RenalMassAILib.errors import InputError

DEFAULT_CALLED_AET = "ANY-SCP"
DEFAULT_CALLING_AET = "RENALMASSAI"
TIMEOUT_S = 30


@dataclasses.dataclass(frozen=True)
class Peer:
    host: str
    port: int
    called_aet: str = DEFAULT_CALLED_AET

    def label(self) -> str:
        return f"{self.called_aet}@{self.host}:{self.port}"


def parse_peer(text: str) -> Peer:
    """'HOST:PORT[:AET]' (IPv4 or a host name)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1].isdigit() or not 0 < int(parts[1]) < 65536:
        raise InputError(f"--store {text!r}: expected HOST:PORT[:AET], e.g. pacs.example.org:104:PACS")
    aet = parts[2] if len(parts) == 3 else DEFAULT_CALLED_AET
    if not 0 < len(aet) <= 16:
        raise InputError(f"--store {text!r}: the called AE title must have 1 to 16 characters")
    return Peer(parts[0], int(parts[1]), aet)


def store_files(paths: list[Path], peer: Peer, calling_aet: str = DEFAULT_CALLING_AET) -> list[dict]:
    """C-STOREs every file; returns one record per file (status, and the peer's warning if any).
    A refused or failed association, or a failure status, raises InputError naming the peer."""
    datasets = [pydicom.dcmread(path) for path in paths]
    entity = AE(ae_title=calling_aet)
    entity.acse_timeout = entity.dimse_timeout = entity.network_timeout = TIMEOUT_S
    for context in sorted({(str(d.SOPClassUID), str(d.file_meta.TransferSyntaxUID)) for d in datasets}):
        entity.add_requested_context(context[0], context[1])
    association = entity.associate(peer.host, peer.port, ae_title=peer.called_aet)
    if association.is_rejected:
        raise InputError(
            f"--store {peer.label()}: the peer rejected the association (check the called AE title "
            f"{peer.called_aet!r} and that it accepts calling AE {calling_aet!r})"
        )
    if not association.is_established:
        raise InputError(
            f"--store {peer.label()}: no association (peer unreachable, aborted or timed out after {TIMEOUT_S} s)"
        )
    try:
        return [_store_one(association, dataset, path, peer) for dataset, path in zip(datasets, paths)]
    finally:
        if association.is_established:
            association.release()


def _store_one(association, dataset: pydicom.Dataset, path: Path, peer: Peer) -> dict:
    try:
        status = association.send_c_store(dataset)
    except ValueError:  # pynetdicom: no accepted presentation context for this SOP class
        raise InputError(
            f"--store {peer.label()}: the peer does not accept {Path(path).name}'s SOP class "
            f"{dataset.SOPClassUID.name} ({dataset.SOPClassUID})"
        ) from None
    if not status or "Status" not in status:
        raise InputError(
            f"--store {peer.label()}: no C-STORE response for {Path(path).name} (connection lost, "
            "or the peer does not accept its SOP class)"
        )
    code = int(status.Status)
    record = {"file": Path(path).name, "status": f"0x{code:04X}"}
    if code == 0x0000:
        return record
    if code in (0x0001, 0x0107, 0x0116) or 0xB000 <= code <= 0xBFFF:  # warnings: stored, with a remark
        return record | {"warning": str(status.get("ErrorComment", ""))}
    comment = f" ({status.ErrorComment})" if "ErrorComment" in status else ""
    raise InputError(
        f"--store {peer.label()}: the peer refused {Path(path).name} with C-STORE status 0x{code:04X}{comment}"
    )
