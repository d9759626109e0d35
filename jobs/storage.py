"""Where input songs and results live: a local directory (default) or an S3-compatible bucket.

Both backends speak in *keys* like ``inputs/<job>/song.mp3`` or ``results/<job>/vocals.mp3``; the
job record stores keys, never paths, so a worker on another machine (S3) and a bot on this one
(local) read the same record. Each object's modification time is its retention clock: the sweep
(:mod:`jobs.retention`) deletes objects older than the retention period, and ``touch`` restarts the
clock (used when a paid result is finally delivered).
"""

from __future__ import annotations

import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jobs.settings import Settings

_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
PRESIGNED_URL_TTL_S = 24 * 3600
MAX_NAME_CHARS = 80


class StorageError(Exception):
    """A stored object is missing or the backend failed."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified_at: float  # epoch seconds


def check_key(key: str) -> str:
    """Refuse keys that could escape the storage root or confuse a bucket listing."""
    if not _KEY_RE.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}")
    return key


def safe_name(name: str, default: str = "audio") -> str:
    """A user's file name made safe for a key or a path: letters, digits, dot, dash, underscore.
    A long name keeps its end, where the extension is (decoders and people go by it)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]+", "_", Path(name).name).strip("._")
    return cleaned[-MAX_NAME_CHARS:].lstrip("._") or default


STORED_STEM = "song"


def stored_name(name: str) -> str:
    """The name a person's song is stored and worked on under: ``song`` plus its extension
    (decoders go by it), never the person's own file name — which would then show in storage
    keys, temporary paths, and every log line and error message that names them."""
    suffix = Path(safe_name(name, "")).suffix.lower()
    return STORED_STEM + (suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else "")


class Storage(ABC):
    """The storage interface every part of the service uses."""

    @abstractmethod
    def put_file(self, key: str, path: str | os.PathLike[str]) -> None: ...

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The object's contents; raise :class:`StorageError` if it is gone."""

    def get_file(self, key: str, dest: str | os.PathLike[str]) -> Path:
        """Copy the object to ``dest``; raise :class:`StorageError` if it is gone."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(self.read_bytes(key))
        return dest

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[StoredObject]: ...

    @abstractmethod
    def touch(self, key: str) -> None:
        """Set the object's modification time to now (restarts its retention clock)."""

    def local_path(self, key: str) -> Path | None:
        """A path on this machine a bot can send directly, or None (remote backend)."""
        return None

    def url(self, key: str, expires_s: int = PRESIGNED_URL_TTL_S) -> str | None:
        """A time-limited download URL, where the backend can make one (S3); else None."""
        return None


class LocalStorage(Storage):
    """A directory on this machine (or a volume shared by the compose services)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, path: str | os.PathLike[str]) -> None:
        with open(path, "rb") as src:
            self._write(key, src.read())

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, data)

    def _write(self, key: str, data: bytes) -> None:
        # Write then rename, so a reader never sees half a file and a crash leaves no torn object.
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise StorageError(f"no stored object {key}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # Drop empty per-job folders so the tree does not grow forever.
        for parent in path.parents:
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        # Walk only the folder the prefix names ("results/<job>/"), not the whole store.
        folder = prefix.rpartition("/")[0]
        start = self._path(folder) if folder else self.root
        for dirpath, _dirs, files in os.walk(start):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                yield StoredObject(key=key, size=stat.st_size, modified_at=stat.st_mtime)

    def touch(self, key: str) -> None:
        path = self._path(key)
        if path.is_file():
            os.utime(path)

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None


class S3Storage(Storage):
    """An S3-compatible bucket (AWS S3, MinIO) through boto3."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        import boto3  # imported here: local-only deployments never pay for it

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put_file(self, key: str, path: str | os.PathLike[str]) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def read_bytes(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise StorageError(f"no stored object {key}") from exc
        data: bytes = response["Body"].read()  # boto3 is untyped
        return data

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield StoredObject(
                    key=item["Key"][len(self.prefix) :],
                    size=int(item["Size"]),
                    modified_at=item["LastModified"].timestamp(),
                )

    def touch(self, key: str) -> None:
        # S3 has no utime: copying an object onto itself with new metadata sets LastModified.
        full = self._key(key)
        self.client.copy_object(
            Bucket=self.bucket,
            Key=full,
            CopySource={"Bucket": self.bucket, "Key": full},
            MetadataDirective="REPLACE",
        )

    def url(self, key: str, expires_s: int = PRESIGNED_URL_TTL_S) -> str | None:
        url: str = self.client.generate_presigned_url(  # boto3 is untyped
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=expires_s
        )
        return url


def open_storage(settings: Settings) -> Storage:
    """The backend the settings name: S3 when ``S3_BUCKET`` is set, else ``STORAGE_DIR``."""
    if settings.uses_s3:
        assert settings.s3_bucket is not None
        return S3Storage(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            prefix=settings.s3_prefix,
            access_key_id=settings.aws_access_key_id,
            secret_access_key=settings.aws_secret_access_key,
        )
    return LocalStorage(settings.storage_dir)
