//! A small `multipart/form-data` reader for the CSV upload (the body is already
//! in memory and size-limited by the CSRF middleware). Linear in the body: boundaries
//! are found with `memchr::memmem` and are at most 70 characters (RFC 2046); the naive
//! search with a long boundary took 1.7 s per 4 MiB. Callers run it off the async
//! threads ([`parse_blocking`]).

use actix_web::web::Bytes;

/// One form field or file.
#[derive(Debug, Clone)]
pub struct Part {
    /// The field name.
    pub name: String,
    /// The content.
    pub data: Bytes,
}

/// The longest boundary RFC 2046 allows.
const MAX_BOUNDARY: usize = 70;

fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').map(str::trim).find_map(|p| {
        let v = p.strip_prefix("boundary=")?.trim_matches('"');
        (!v.is_empty() && v.len() <= MAX_BOUNDARY).then(|| v.to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let rest = haystack.get(from..)?;
    memchr::memmem::find(rest, needle).map(|i| i + from)
}

fn param(header: &str, key: &str) -> Option<String> {
    header.split(';').map(str::trim).find_map(|p| {
        let v = p.strip_prefix(key)?.strip_prefix('=')?;
        Some(v.trim_matches('"').to_owned())
    })
}

/// Splits a body into its parts.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let b = boundary(content_type)
        .ok_or("the upload has no multipart boundary (or one over 70 characters)")?;
    let delim = format!("--{b}");
    let next_delim = format!("\r\n--{b}");
    let mut pos =
        find(body, delim.as_bytes(), 0).ok_or("the upload is not multipart")? + delim.len();
    let bytes = Bytes::copy_from_slice(body);
    let mut parts = Vec::new();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            break;
        }
        pos += 2; // CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", pos).ok_or("a part of the upload has no headers")?;
        let head = String::from_utf8_lossy(&body[pos..head_end]);
        let data_start = head_end + 4;
        let data_end =
            find(body, next_delim.as_bytes(), data_start).ok_or("the upload is cut short")?;
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or("");
        if let Some(name) = param(disposition, "name") {
            parts.push(Part {
                name,
                data: bytes.slice(data_start..data_end),
            });
        }
        pos = data_end + next_delim.len();
        if pos > body.len() {
            break;
        }
    }
    Ok(parts)
}

/// [`parse`] on the blocking pool, so a large upload never stalls the async threads.
pub async fn parse_blocking(content_type: String, body: Bytes) -> Result<Vec<Part>, String> {
    actix_web::web::block(move || parse(&content_type, &body))
        .await
        .map_err(|_| "the upload could not be read".to_owned())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_files() {
        let body = b"--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nt1\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nemail,name\r\na@b.c,A\r\n\r\n--B--\r\n";
        let parts = parse("multipart/form-data; boundary=B", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(&parts[0].data[..], b"t1");
        assert_eq!(parts[1].name, "file");
        assert_eq!(&parts[1].data[..], b"email,name\r\na@b.c,A\r\n");
        assert!(parse("multipart/form-data", body).is_err());
        let long = format!("multipart/form-data; boundary={}", "b".repeat(71));
        assert!(parse(&long, body).is_err());
    }
}
