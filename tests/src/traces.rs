//! Capturing `tracing` output (to check that secrets never reach the logs).

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A shared buffer that a `tracing-subscriber` fmt layer writes into.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Captures every event and span at TRACE level on this thread until the guard is dropped.
/// The mock server's own logs (which print whole requests) are left out: they are the test
/// double's, not the SDK's.
pub fn capture_traces() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let buffer = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace,httpmock=off"))
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .finish();
    (buffer, tracing::subscriber::set_default(subscriber))
}
