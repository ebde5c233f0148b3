"""Recordings copied to an S3-compatible bucket: moto's S3 server on a local port stands in
for the bucket, reached over real HTTP with boto3, as a deployment reaches AWS or MinIO."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.recording.recorded import simulated, stereo

from telephonist.config.recording import BucketSettings, parse_recording
from telephonist.errors import ConfigError
from telephonist.recording.tap import CallTap
from telephonist.recording.upload import BucketUploader
from telephonist.recording.writer import SegmentWriter
from telephonist.simulator.script import Say

boto3 = pytest.importorskip("boto3", reason="recording.s3 needs boto3 (the dev extra has it)")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is in the dev extra")

BUCKET = "call-recordings"
SECRET = "wJalrXUtnFEMI-not-a-real-secret-EXAMPLEKEY"


def free_port() -> int:
    """A TCP port nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    """moto's S3-compatible server, for this module."""
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty bucket, and credentials in the environment (boto3's standard chain)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    client = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1")
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    for found in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=found["Key"])
    return client


def objects(client: Any) -> dict[str, bytes]:
    """Every object in the bucket, by key."""
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def recording(folder: Path, s3: dict[str, Any]) -> Any:
    """Recording settings with a bucket."""
    block = {"folder": str(folder), "max_size_mb": 0, "retention_days": 0, "instance": "web-1"}
    return parse_recording({**block, "s3": s3}, file=str(folder / "credentials.yml"))


def record_one_call(folder: Path, settings: Any, uploader: BucketUploader) -> None:
    """Two seconds of a call, finished, through the writer that hands files to ``uploader``."""
    writer = SegmentWriter(settings, on_final=uploader.put)
    tap = CallTap("CA1", settings, writer, time.time)
    for _ in range(100):
        tap.caller(b"\x10" * 160)
    tap.close("caller hung up")
    writer.close()


def test_finished_files_are_uploaded_under_the_prefix_and_kept(tmp_path: Path, bucket, s3_url):
    """Each finished file arrives byte for byte, its key the prefix and its path in the
    folder; with keep_local (the default) the folder keeps it."""
    settings = recording(tmp_path, {"bucket": BUCKET, "endpoint_url": s3_url, "prefix": "pbx/"})
    uploader = BucketUploader(settings.s3, tmp_path)
    record_one_call(tmp_path, settings, uploader)
    uploader.close()
    local = {f"pbx/{p.relative_to(tmp_path).as_posix()}": p for p in tmp_path.glob("*/*.*")}
    assert sorted(p.suffix for p in local.values()) == [".json", ".wav"]
    assert objects(bucket) == {key: path.read_bytes() for key, path in local.items()}
    assert (uploader.uploaded, uploader.failed) == (2, 0)


def test_without_keep_local_uploaded_files_leave_and_leftovers_go_at_start(
    tmp_path: Path, bucket, s3_url
):
    """keep_local: false deletes a file once uploaded; a finished file left in the folder
    (its upload failed before a restart) is uploaded at start-up; a call still being
    written (``.partial``) is left alone."""
    day = tmp_path / "2026-11-30"
    day.mkdir()
    (day / "CA9_20261130T100000Z_web-1.json").write_text('{"call_sid": "CA9"}')
    (day / "CA8_20261130T100500Z_web-1.partial.wav").write_bytes(b"RIFF")
    settings = recording(tmp_path, {"bucket": BUCKET, "endpoint_url": s3_url, "keep_local": False})
    uploader = BucketUploader(settings.s3, tmp_path)
    record_one_call(tmp_path, settings, uploader)
    uploader.close()
    keys = sorted(objects(bucket))
    assert "2026-11-30/CA9_20261130T100000Z_web-1.json" in keys
    assert sorted(Path(k).suffix for k in keys if "/CA1_" in k) == [".json", ".wav"]
    assert [p.name for p in tmp_path.rglob("*.*")] == ["CA8_20261130T100500Z_web-1.partial.wav"]


def test_an_unreachable_bucket_keeps_the_file_and_logs_no_secret(
    tmp_path: Path, bucket, caplog: pytest.LogCaptureFixture
):
    """Every attempt fails: the file stays in the folder (nothing lost), the error names the
    object's key, and the credentials appear nowhere in the log."""
    dead = f"http://127.0.0.1:{free_port()}"
    settings = recording(tmp_path, {"bucket": BUCKET, "endpoint_url": dead, "keep_local": False})
    assert settings.s3 is not None
    uploader = BucketUploader(settings.s3, tmp_path, delays=(0.0,))
    with caplog.at_level(logging.DEBUG):
        record_one_call(tmp_path, settings, uploader)
        uploader.close()
    assert (uploader.uploaded, uploader.failed) == (0, 2)
    assert len(list(tmp_path.glob("*/*.wav"))) == 1
    failures = [r.getMessage() for r in caplog.records if "upload_failed" in r.getMessage()]
    assert len(failures) == 2 and all("the file stays in" in m for m in failures)
    assert SECRET not in caplog.text and "AKIATESTING" not in caplog.text


async def test_a_served_call_reaches_the_bucket(serve, tmp_path: Path, bucket, s3_url):
    """From the channel's recording.s3 block: a simulated call's stereo WAV and transcript
    are in the bucket once the server has stopped recording."""
    folder = tmp_path / "recordings"
    block = {"folder": str(folder), "s3": {"bucket": BUCKET, "endpoint_url": s3_url}}
    async with serve(transcripts=["check my order"], recording=block) as served:
        report = await simulated(served).run([Say("check my order")])
        await served.runtime.recordings.aclose()
    assert report.ok, report.outcome
    stored = objects(bucket)
    [wav_key] = [k for k in stored if k.endswith(".wav")]
    [json_key] = [k for k in stored if k.endswith(".json")]
    audio = tmp_path / "from-bucket.wav"
    audio.write_bytes(stored[wav_key])
    assert len(stereo(audio)) > 8000  # seconds of the call, both channels
    assert json.loads(stored[json_key])["call_sid"] == report.call_sid


@pytest.mark.parametrize(
    ("s3", "key", "words"),
    [
        ({"bucket": "Bad_Name"}, "recording.s3.bucket", "must name a bucket"),
        ({"prefix": "x/"}, "recording.s3.bucket", "must name a bucket"),
        ({"bucket": BUCKET, "endpoint_url": "minio:9000"}, "recording.s3.endpoint_url", "URL"),
        ({"bucket": BUCKET, "keep_local": "no"}, "recording.s3.keep_local", "true or false"),
        ({"bucket": BUCKET, "secret": "x"}, "recording.s3.secret", "unknown"),
    ],
)
def test_bad_bucket_settings_name_the_key(tmp_path: Path, s3: dict[str, Any], key: str, words):
    """Each mistake in the block is refused, naming its key."""
    with pytest.raises(ConfigError) as raised:
        recording(tmp_path, s3)
    assert key in str(raised.value) and words in str(raised.value)


def test_settings_default_to_keeping_local_copies(tmp_path: Path):
    """Only ``bucket`` is required; AWS's own endpoint and region chain apply otherwise."""
    settings = recording(tmp_path, {"bucket": BUCKET})
    assert settings.s3 == BucketSettings(bucket=BUCKET)
