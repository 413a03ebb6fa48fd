//! Files the CLI writes: all or nothing. The output goes to a temporary file in the target's
//! directory, created `0600` on Unix (the rows hold personal data), and is renamed over the
//! target only once every row is written and synced. A failed or interrupted run deletes the
//! temporary file and leaves the target as it was; after `kill -9` the temporary file may stay
//! behind, named `.<target name>.<random>.partial`, never under the target's name.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// The suffix that marks a file as an unfinished output.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// An output file being written; nothing is visible under `target` until [`OutputFile::commit`].
pub struct OutputFile {
    target: PathBuf,
    temp: BufWriter<NamedTempFile>,
}

impl OutputFile {
    /// Writes `value` as one pretty-printed JSON document and a line break to `target`, all or
    /// nothing (a saved plan, a run's summary).
    pub fn write_json<T: serde::Serialize + ?Sized>(target: &Path, value: &T) -> io::Result<()> {
        let mut file = OutputFile::create(target)?;
        serde_json::to_writer_pretty(&mut file, value).map_err(io::Error::other)?;
        file.write_all(b"\n")?;
        file.commit()
    }

    /// Creates the temporary file beside `target` (so the final rename stays on one file
    /// system and is atomic).
    pub fn create(target: &Path) -> io::Result<Self> {
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = target.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a file name", target.display()),
            )
        })?;
        let prefix = format!(".{}.", name.to_string_lossy());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(PARTIAL_SUFFIX);
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
        let temp = builder.tempfile_in(dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create a file in {}: {e}", dir.display()),
            )
        })?;
        Ok(OutputFile {
            target: target.to_owned(),
            temp: BufWriter::new(temp),
        })
    }

    /// Flushes, syncs and renames the file over the target (mode `0600` on Unix).
    pub fn commit(self) -> io::Result<()> {
        let target = self.target;
        let temp = self
            .temp
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        temp.as_file().sync_all()?;
        let file: File = temp.persist(&target).map_err(|e| {
            io::Error::new(
                e.error.kind(),
                format!("cannot replace {}: {}", target.display(), e.error),
            )
        })?;
        drop(file);
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}
