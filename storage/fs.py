"""The filesystem seam: every disk operation of storage goes through a ``FileSystem``.

The default is the real OS. Tests subclass it to inject faults (a failed write, a failed fsync, ENOSPC,
a short write) without monkeypatching ``os``. Files are unbuffered ``io.FileIO`` objects, so what was
written is what the OS has (page cache), and reads with ``pread`` see it at once.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil


class FileSystem:
    """Real OS calls. Methods raise ``OSError``; storage turns that into ``StorageError``."""

    def open(self, path: str, mode: str) -> io.FileIO:
        """``mode`` is one of "rb", "r+b", "ab", "wb", "xb" (unbuffered)."""
        return io.FileIO(path, mode)

    def write(self, f: io.FileIO, data: bytes | bytearray | memoryview) -> None:
        """Write all of ``data`` at the file's current position (looping over short writes)."""
        view = memoryview(data)
        while view:
            n = f.write(view)
            if n is None or n <= 0:
                raise OSError(f"write to {f.name!r} made no progress")
            view = view[n:]

    def pread(self, f: io.FileIO, size: int, position: int) -> bytes:
        return os.pread(f.fileno(), size, position)

    def fsync(self, f: io.FileIO) -> None:
        os.fsync(f.fileno())

    def truncate(self, f: io.FileIO, size: int) -> None:
        f.truncate(size)
        f.seek(size)

    def size(self, f: io.FileIO) -> int:
        return os.fstat(f.fileno()).st_size

    def rename(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def delete(self, path: str) -> None:
        """Delete a file; a file already gone is not an error."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def remove_tree(self, path: str) -> None:
        """Delete a directory and everything in it. Raises OSError (it needs descriptors of its own:
        under EMFILE it fails)."""
        shutil.rmtree(path)

    def fsync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def write_file_atomically(self, path: str, data: bytes, *, sync: bool = True) -> None:
        """Write-temp-then-rename with fsyncs, so a crash leaves either the old or the new file.
        ``sync=False`` leaves out the fsyncs (the caller fsyncs ``path`` and its directory later, off
        the event loop): a process crash still leaves the old file or the new one."""
        tmp = path + ".tmp"
        with self.open(tmp, "wb") as f:
            self.write(f, data)
            if sync:
                self.fsync(f)
        self.rename(tmp, path)
        if sync:
            self.fsync_dir(os.path.dirname(path) or ".")

    def fsync_path(self, path: str) -> bool:
        """fsync the file at ``path`` (its dirty pages, whoever wrote them); False if it is gone."""
        try:
            f = self.open(path, "rb")
        except FileNotFoundError:
            return False
        with f:
            self.fsync(f)
        return True


REAL_FS = FileSystem()
