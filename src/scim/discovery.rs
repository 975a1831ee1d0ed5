//! What the server announces in `/ServiceProviderConfig`, and only that is trusted.

use serde::Deserialize;

/// The features accessboard relies on, as the server announced them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// `filter.supported`.
    pub filter: bool,
    /// `filter.maxResults`: the most resources one query answers.
    pub filter_max_results: Option<u32>,
    /// `patch.supported`.
    pub patch: bool,
    /// `bulk.maxOperations`, when bulk is supported.
    pub bulk_max_operations: Option<u32>,
    /// `etag.supported`.
    pub etag: bool,
}

impl Capabilities {
    /// What we assume of a server that does not say: nothing beyond GET, POST, PUT and DELETE.
    pub const CONSERVATIVE: Capabilities = Capabilities {
        filter: false,
        filter_max_results: None,
        patch: false,
        bulk_max_operations: None,
        etag: false,
    };

    /// Reads a ServiceProviderConfig body; absent features count as unsupported.
    pub fn from_service_provider_config(body: &[u8]) -> Result<Capabilities, serde_json::Error> {
        let spc: Spc = serde_json::from_slice(body)?;
        let max = |v: Option<u64>| {
            v.filter(|n| *n > 0)
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        };
        Ok(Capabilities {
            filter: spc.filter.supported,
            filter_max_results: max(spc.filter.max_results),
            patch: spc.patch.supported,
            bulk_max_operations: if spc.bulk.supported {
                max(spc.bulk.max_operations)
            } else {
                None
            },
            etag: spc.etag.supported,
        })
    }

    /// Resources to ask for per page: the announced cap, at most `preferred`.
    pub fn page_size(&self, preferred: u32) -> u32 {
        self.filter_max_results
            .map_or(preferred, |m| m.min(preferred))
            .max(1)
    }
}

#[derive(Deserialize)]
struct Spc {
    #[serde(default)]
    patch: Feature,
    #[serde(default)]
    bulk: Feature,
    #[serde(default)]
    filter: Feature,
    #[serde(default)]
    etag: Feature,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Feature {
    #[serde(default, deserialize_with = "lenient_bool")]
    supported: bool,
    #[serde(default)]
    max_results: Option<u64>,
    #[serde(default)]
    max_operations: Option<u64>,
}

// A few servers send "true" as a string; reading it as unsupported would silently disable filters.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_announced_features() {
        let body = br#"{"patch":{"supported":true},"bulk":{"supported":true,"maxOperations":1000},
            "filter":{"supported":true,"maxResults":200},"etag":{"supported":false}}"#;
        let c = Capabilities::from_service_provider_config(body).unwrap();
        assert_eq!(
            c,
            Capabilities {
                filter: true,
                filter_max_results: Some(200),
                patch: true,
                bulk_max_operations: Some(1000),
                etag: false
            }
        );
        assert_eq!(c.page_size(100), 100);
        let c = Capabilities::from_service_provider_config(b"{}").unwrap();
        assert_eq!(c, Capabilities::CONSERVATIVE);
    }
}
