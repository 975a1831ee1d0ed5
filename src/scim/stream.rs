//! Listings read as a stream: resources are parsed as the bytes arrive and handed on in
//! small batches, so a listing never has to fit in memory at once.
//!
//! Nextcloud ignores `count` and answers every account in one listing (about 700 bytes
//! each: 35 MB for 50,000 people); parsing that whole would break the memory target.

use std::fmt;
use std::io::Read;
use std::marker::PhantomData;

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
        let bad = move |why: String| {
            ScimError::other(
                ErrorKind::Permanent,
                method,
                &path,
                Some(status),
                format!("the answer is not the expected SCIM JSON ({why})"),
            )
        };
        let Some(mut resp) = self.response.take() else {
            // Read whole already (an expected non-2xx); parse what is there.
            let page: super::models::ListResponse<T> = self.json()?;
            let received = page.resources.len() as u64;
            on_batch(page.resources);
            return Ok(ListMeta {
                total_results: page.total_results,
                received,
            });
        };
        let (chunk_tx, chunk_rx) = mpsc::channel::<Bytes>(8);
        let (batch_tx, mut batch_rx) = mpsc::channel::<Vec<T>>(2);
        let parser = tokio::task::spawn_blocking(move || {
            let reader = ChunkReader {
                rx: chunk_rx,
                current: Bytes::new(),
            };
            let mut de = serde_json::Deserializer::from_reader(reader);
            let meta = ListSeed {
                out: batch_tx,
                marker: PhantomData,
            }
            .deserialize(&mut de)?;
            de.end()?;
            Ok::<_, serde_json::Error>(meta)
        });
        let mut chunk_tx = Some(chunk_tx);
        let mut stopped = false;
        let (mut total, mut since_batch) = (0usize, 0usize);
        let too_large = |what: &str| {
            ScimError::other(
                ErrorKind::Permanent,
                method,
                &self.path,
                Some(status),
                format!("response too large ({what})"),
            )
        };
        loop {
            tokio::select! {
                batch = batch_rx.recv() => match batch {
                    Some(b) => if !stopped && { since_batch = 0; on_batch(b) } {
                        // Found: stop reading; dropping the channels ends the parser.
                        stopped = true;
                        chunk_tx = None;
                        batch_rx.close();
                    },
                    None => break,
                },
                chunk = resp.chunk(), if chunk_tx.is_some() => match chunk {
                    Ok(Some(c)) => {
                        total += c.len();
                        since_batch += c.len();
                        if total > MAX_LISTING_BYTES {
                            return Err(too_large("a listing over 256 MiB"));
                        }
                        if since_batch > MAX_BYTES_PER_BATCH {
                            return Err(too_large("more than 16 MiB for a few resources"));
                        }
                        if let Some(tx) = &chunk_tx && tx.send(c).await.is_err() {
                            chunk_tx = None;
                        }
                    }
                    Ok(None) => chunk_tx = None,
                    Err(e) => return Err(ScimError::from_transport(method, &self.path, &e, timeout)),
                },
            }
        }
        // The loop can end on the parser's last batch before it has read the end of the body
        // (select! picks either ready branch); the parser then waits in `end()` for more bytes
        // while we wait for it. It has the whole value: what could follow is only whitespace.
        drop(chunk_tx);
        let parsed = parser.await.map_err(|_| bad("the parser stopped".into()))?;
        match parsed {
            Ok(meta) => Ok(meta),
            Err(_) if stopped => Ok(ListMeta::default()),
            Err(e) => Err(bad(e.to_string())),
        }
    }
}

/// A blocking reader over the chunks the async side receives.
struct ChunkReader {
    rx: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(c) => self.current = c,
                None => return Ok(0),
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
            if batch.len() == BATCH && self.out.blocking_send(std::mem::take(&mut batch)).is_err() {
                return Err(serde::de::Error::custom("the reader stopped"));
            }
        }
        if !batch.is_empty() && self.out.blocking_send(batch).is_err() {
            return Err(serde::de::Error::custom("the reader stopped"));
        }
        Ok(n)
    }
}
