//! Listings read as a stream: resources are parsed as the bytes arrive and handed on in
//! small batches, so a listing never has to fit in memory at once.
//!
//! Nextcloud ignores `count` and answers every account in one listing (about 700 bytes
//! each: 35 MB for 50,000 people); parsing that whole would break the memory target.

use std::fmt;
use std::io::Read;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tokio::sync::mpsc;

use super::client::Answer;
use super::error::{ErrorKind, ScimError};

/// Resources handed to the caller at a time.
const BATCH: usize = 200;
/// Bytes a listing may carry between two batches: far above 200 real accounts, and the
/// bound on what one hostile resource can make us hold.
const MAX_BYTES_PER_BATCH: usize = 16 * 1024 * 1024;
/// Bytes one listing may carry in all (about 350,000 Nextcloud accounts).
const MAX_LISTING_BYTES: usize = 256 * 1024 * 1024;

/// What a listing said about itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ListMeta {
    /// `totalResults`.
    pub total_results: u64,
    /// Resources in this answer.
    pub received: u64,
}

impl Answer {
    /// Parses a listing as it arrives, calling `on_batch` with every few resources until
    /// it returns true (found what it wanted) or the listing ends.
    pub(crate) async fn stream_list<T: DeserializeOwned + Send + 'static>(
        mut self,
        mut on_batch: impl FnMut(Vec<T>) -> bool,
    ) -> Result<ListMeta, ScimError> {
        let (method, path, status, timeout) =
            (self.method, self.path.clone(), self.status, self.timeout);
        let redactor = self.redactor.clone();
        let bad = move |why: String| {
            ScimError::other(
                ErrorKind::Permanent,
                method,
                &path,
                Some(status),
                format!("the answer is not the expected SCIM JSON ({why})"),
            )
            .scrub(&redactor)
        };
        let Some(resp) = self.response.take() else {
            // Read whole already (an expected non-2xx); parse what is there.
            let page: super::models::ListResponse<T> = self.json()?;
            let received = page.resources.len() as u64;
            on_batch(page.resources);
            return Ok(ListMeta {
                total_results: page.total_results,
                received,
            });
        };
        // The parser thread reads the body itself (blocking on the runtime for each chunk)
        // and hands batches over; this side only receives, so neither can wait on the other.
        let (batch_tx, mut batch_rx) = mpsc::channel::<Vec<T>>(2);
        let runtime = tokio::runtime::Handle::current();
        let reader_path = self.path.clone();
        let sent = Arc::new(AtomicU64::new(0));
        let read_error: Arc<Mutex<Option<ReadError>>> = Arc::default();
        let slot = read_error.clone();
        let parser = tokio::task::spawn_blocking(move || {
            let reader = BodyReader {
                resp,
                runtime,
                current: Bytes::new(),
                total: 0,
                since_batch: 0,
                error: slot,
                batches: sent.clone(),
                batches_seen: 0,
                out: batch_tx.clone(),
            };
            let mut de = serde_json::Deserializer::from_reader(reader);
            let meta = ListSeed {
                out: batch_tx,
                sent,
                marker: PhantomData,
            }
            .deserialize(&mut de);
            meta.and_then(|m| de.end().map(|()| m))
        });
        let mut stopped = false;
        while let Some(batch) = batch_rx.recv().await {
            if on_batch(batch) {
                // Found: stop; the parser sees the closed channel and ends.
                stopped = true;
                batch_rx.close();
                break;
            }
        }
        drop(batch_rx);
        let parsed = parser.await.map_err(|_| bad("the parser stopped".into()))?;
        if stopped {
            return Ok(ListMeta::default());
        }
        let read_error = read_error.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(e) = read_error {
            return Err(match e {
                ReadError::Transport(e) => {
                    ScimError::from_transport(method, &reader_path, &e, timeout)
                }
                ReadError::TooLarge(what) => ScimError::other(
                    ErrorKind::Permanent,
                    method,
                    &reader_path,
                    Some(status),
                    format!("response too large ({what})"),
                ),
            });
        }
        parsed.map_err(|e| bad(e.to_string()))
    }
}

/// Why reading the body stopped early.
enum ReadError {
    Transport(reqwest::Error),
    TooLarge(&'static str),
}

/// A blocking reader over the response body, for the parser thread.
struct BodyReader<T> {
    resp: reqwest::Response,
    runtime: tokio::runtime::Handle,
    current: Bytes,
    total: usize,
    since_batch: usize,
    error: Arc<Mutex<Option<ReadError>>>,
    // Batches handed over so far: each one starts the per-batch allowance again.
    batches: Arc<AtomicU64>,
    batches_seen: u64,
    // Closed when the caller found what it wanted: stop reading.
    out: mpsc::Sender<Vec<T>>,
}

impl<T> BodyReader<T> {
    // Keeps the reason for the async side; the parser only sees that reading stopped.
    fn fail(&self, why: ReadError) -> std::io::Error {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
        std::io::Error::other("stopped")
    }
}

impl<T> Read for BodyReader<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            if self.out.is_closed() {
                return Ok(0);
            }
            match self.runtime.block_on(self.resp.chunk()) {
                Ok(Some(c)) => {
                    self.total += c.len();
                    let sent = self.batches.load(Ordering::Relaxed);
                    if sent != self.batches_seen {
                        self.batches_seen = sent;
                        self.since_batch = 0;
                    }
                    self.since_batch += c.len();
                    let too_large = if self.total > MAX_LISTING_BYTES {
                        Some("a listing over 256 MiB")
                    } else if self.since_batch > MAX_BYTES_PER_BATCH {
                        Some("more than 16 MiB for a few resources")
                    } else {
                        None
                    };
                    if let Some(what) = too_large {
                        return Err(self.fail(ReadError::TooLarge(what)));
                    }
                    self.current = c;
                }
                Ok(None) => return Ok(0),
                Err(e) => return Err(self.fail(ReadError::Transport(e))),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// Reads a ListResponse object, sending `Resources` on in batches.
struct ListSeed<T> {
    out: mpsc::Sender<Vec<T>>,
    sent: Arc<AtomicU64>,
    marker: PhantomData<T>,
}

impl<'de, T: DeserializeOwned + Send + 'static> DeserializeSeed<'de> for ListSeed<T> {
    type Value = ListMeta;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<ListMeta, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned + Send + 'static> Visitor<'de> for ListSeed<T> {
    type Value = ListMeta;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a SCIM ListResponse")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ListMeta, A::Error> {
        let mut meta = ListMeta::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "totalResults" => {
                    meta.total_results = map.next_value::<Option<u64>>()?.unwrap_or_default()
                }
                "Resources" | "resources" => {
                    meta.received += map.next_value_seed(Resources {
                        out: &self.out,
                        sent: &self.sent,
                        marker: PhantomData,
                    })?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(meta)
    }
}

/// The `Resources` array (or `null`), sent on in batches; answers how many it held.
struct Resources<'a, T> {
    out: &'a mpsc::Sender<Vec<T>>,
    sent: &'a AtomicU64,
    marker: PhantomData<T>,
}

impl<'de, T: DeserializeOwned + Send + 'static> DeserializeSeed<'de> for Resources<'_, T> {
    type Value = u64;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: DeserializeOwned + Send + 'static> Visitor<'de> for Resources<'_, T> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of resources")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<u64, E> {
        Ok(0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut n = 0;
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(item) = seq.next_element::<T>()? {
            n += 1;
            batch.push(item);
            if batch.len() == BATCH {
                if self.out.blocking_send(std::mem::take(&mut batch)).is_err() {
                    return Err(serde::de::Error::custom("the reader stopped"));
                }
                self.sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        if !batch.is_empty() && self.out.blocking_send(batch).is_err() {
            return Err(serde::de::Error::custom("the reader stopped"));
        }
        Ok(n)
    }
}
