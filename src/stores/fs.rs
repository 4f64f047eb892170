//! File reads that never block on a FIFO or device, and writes that never leave a
//! half-written file behind.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

/// Opens `path` for reading without blocking (a FIFO would wait for a writer forever)
/// and, unless `follow`, without following a symbolic link.
pub fn open_for_reading(path: &Path, follow: bool) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        let no_follow = if follow { 0 } else { libc::O_NOFOLLOW };
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK | no_follow);
    }
    #[cfg(not(unix))]
    let _ = follow;
    options.open(path)
}

/// Reads a regular file of at most `max_bytes`; `None` when there is none. Anything else
/// at the path (a FIFO, a directory, a device) is an error, as is a larger file.
pub fn read_regular(path: &Path, max_bytes: u64) -> std::io::Result<Option<Vec<u8>>> {
    read_checked(path, max_bytes, false)
}

/// Reads a file that may be a pipe (`--key-file <(vault read ...)`), of at most
/// `max_bytes`. It is opened without blocking, so a named FIFO that no one writes to is an
/// error at once instead of a hang; a pipe with a writer is then read to its end.
pub fn read_file_or_pipe(path: &Path, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    let mut file = open_for_reading(path, true)?;
    #[cfg(unix)]
    {
        let kind = file.metadata()?.file_type();
        if !kind.is_file() {
            use std::os::fd::AsRawFd;
            // A pipe with a writer, or a terminal (/dev/stdin): blocking reads from here on.
            // SAFETY: fcntl on a descriptor this function owns; no memory is passed.
            unsafe {
                let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
                libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
        let bytes = read_bounded(&mut file, max_bytes)?;
        if bytes.is_empty() && std::os::unix::fs::FileTypeExt::is_fifo(&kind) {
            let message = "it is a FIFO, and nothing was written to it";
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, message));
        }
        Ok(bytes)
    }
    #[cfg(not(unix))]
    read_bounded(&mut file, max_bytes)
}

/// [`read_regular`] for a file whose content decides where secrets go (the settings, a
/// rotation's state): on Unix it must belong to this user (or root) and not be writable by
/// everyone, or another user could point a profile's login URL anywhere.
pub fn read_trusted(path: &Path, max_bytes: u64) -> std::io::Result<Option<Vec<u8>>> {
    read_checked(path, max_bytes, true)
}

fn read_checked(path: &Path, max_bytes: u64, trusted: bool) -> std::io::Result<Option<Vec<u8>>> {
    let mut file = match open_for_reading(path, true) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "it is not a regular file"));
    }
    #[cfg(unix)]
    if trusted {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        let refused = |why: String| Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, why));
        // root's files are trusted as the system's are (a Nix store, /etc/sfcred).
        if meta.uid() != me && meta.uid() != 0 {
            return refused(format!(
                "it belongs to another user (uid {}), so sfcred does not trust it",
                meta.uid()
            ));
        }
        if meta.mode() & 0o002 != 0 {
            return refused(format!(
                "anyone may write it (mode {:o}), so sfcred does not trust it",
                meta.mode() & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = trusted;
    read_bounded(&mut file, max_bytes).map(Some)
}

/// Reads to the end, refusing more than `max_bytes`.
pub fn read_bounded(file: &mut impl Read, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    read_bounded_into(file, max_bytes, Vec::new())
}

/// [`read_bounded`] into `bytes`: given room for the whole file, it never moves, so a
/// secret read into it leaves no copy behind.
pub fn read_bounded_into(
    file: &mut impl Read,
    max_bytes: u64,
    mut bytes: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    file.take(max_bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        let message = format!("it is over {} KiB", max_bytes / 1024);
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, message));
    }
    Ok(bytes)
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over
/// `path`, so readers see either the old content or the new. The file is user-only.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".sfcred-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Removes a file; none there is fine.
pub fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Creates `dir` (and its parents) readable by the user alone.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Who may read a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// The user alone (0600): a private key.
    User,
    /// Anyone (0644): a certificate.
    Anyone,
}

/// Writes a new file, replacing one only when `replace`.
pub fn write_new(path: &Path, bytes: &[u8], replace: bool, readers: Readers) -> std::io::Result<()> {
    // An existing pipe or device (/dev/stdout, >(vault write ...)) takes the bytes as they are.
    let special = std::fs::metadata(path).is_ok_and(|meta| !meta.is_file() && !meta.is_dir());
    if replace && special {
        return std::fs::OpenOptions::new().write(true).open(path)?.write_all(bytes);
    }
    if replace {
        // A new file renamed over the old: an existing file's mode, or a symbolic link's
        // target, never receives what is written.
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut builder = tempfile::Builder::new();
        builder.prefix(".sfcred-");
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(match readers {
            Readers::User => 0o600,
            Readers::Anyone => 0o644,
        }));
        let mut tmp = builder.tempfile_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        return tmp.persist(path).map(drop).map_err(|e| e.error);
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    // create_new does not follow a symbolic link at the path: it fails on it.
    options.create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(
        &mut options,
        if readers == Readers::User { 0o600 } else { 0o644 },
    );
    #[cfg(not(unix))]
    let _ = readers;
    options.open(path)?.write_all(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let err = read_regular(&fifo, 1024).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(read_regular(&dir.path().join("none"), 1024).unwrap().is_none());
    }

    #[test]
    fn large_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'x'; 2048]).unwrap();
        assert!(read_regular(&path, 1024).unwrap_err().to_string().contains("over 1 KiB"));
        assert_eq!(read_regular(&path, 2048).unwrap().unwrap().len(), 2048);
    }
}

/// Why a bounded lock wait ended without the lock.
#[derive(Debug)]
pub enum LockWait {
    TimedOut,
    Failed(std::io::Error),
}

/// Locks `file` (an exclusive OS lock, released when the holder exits, even killed),
/// waiting at most `wait`; `waiting` is called once if another holds it. The blocking lock
/// runs on a helper thread: a bounded wait without polling.
pub fn lock_within(
    file: std::fs::File,
    wait: std::time::Duration,
    waiting: impl FnOnce(),
) -> Result<std::fs::File, LockWait> {
    if file.try_lock().is_ok() {
        return Ok(file);
    }
    waiting();
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let locked = file.lock().map(|()| file);
        let _ = tx.send(locked);
    });
    match rx.recv_timeout(wait) {
        Ok(Ok(file)) => Ok(file),
        Ok(Err(e)) => Err(LockWait::Failed(e)),
        Err(_) => Err(LockWait::TimedOut),
    }
}
