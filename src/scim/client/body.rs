//! Reading an answer's body whole, within [`MAX_RESPONSE_BYTES`].

use std::time::Duration;

use super::MAX_RESPONSE_BYTES;
use crate::scim::error::{ErrorKind, ScimError};

pub(super) async fn read_capped(
    resp: &mut reqwest::Response,
    method: &'static str,
    path: &str,
    timeout: Duration,
) -> Result<Vec<u8>, ScimError> {
    let status = resp.status().as_u16();
    let too_large = || {
        ScimError::other(
            ErrorKind::Permanent,
            method,
            path,
            Some(status),
            format!(
                "response too large (more than {} KiB)",
                MAX_RESPONSE_BYTES / 1024
            ),
        )
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ScimError::from_transport(method, path, &e, timeout))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
