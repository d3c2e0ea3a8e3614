//! S3 data locations (`s3://bucket/prefix`): listing, reading and writing objects with
//! `aws-sdk-s3`.
//!
//! Configuration is AWS's standard one (`aws-config`): credentials from `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY`, a profile or an instance role; region from `AWS_REGION` (default
//! `us-east-1`); endpoint from `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`) for S3-compatible
//! stores such as s3s-fs or MinIO. Path-style addressing is used when an endpoint is set or
//! `AWS_S3_FORCE_PATH_STYLE=true`; virtual-hosted style otherwise (AWS).
//!
//! The SDK is async; this module owns a current-thread Tokio runtime and exposes blocking calls,
//! so executors and the driver stay synchronous. Every error names the `s3://` object or prefix
//! and says what to check.

use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use harness_core::shard::FileEntry;

/// An `s3://bucket/prefix` location. `prefix` has no leading and no trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket[/prefix]`; `None` if `url` is not an `s3://` URL with a bucket.
    pub fn parse(url: &str) -> Option<Self> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The key of `rel` below the prefix.
    pub fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.trim_start_matches('/').to_string()
        } else {
            format!("{}/{}", self.prefix, rel.trim_start_matches('/'))
        }
    }

    /// `s3://bucket/<key of rel>`.
    pub fn url(&self, rel: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(rel))
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// A failed S3 call: the object or prefix, and a message that says what to check.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{url}: {message}")]
pub struct S3Error {
    pub url: String,
    pub message: String,
}

/// A blocking S3 client built from the standard AWS configuration.
pub struct S3 {
    client: aws_sdk_s3::Client,
    rt: tokio::runtime::Runtime,
    endpoint: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl S3 {
    /// A client from the environment / profile.
    ///
    /// # Panics
    /// If a Tokio runtime cannot be created (no threads or file descriptors left).
    pub fn from_env() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let endpoint = env("AWS_ENDPOINT_URL_S3").or_else(|| env("AWS_ENDPOINT_URL"));
        let path_style = endpoint.is_some()
            || env("AWS_S3_FORCE_PATH_STYLE").is_some_and(|v| v == "true" || v == "1");
        // HTTPS with rustls on ring (see Cargo.toml), for S3 and the credential providers.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let conf = rt.block_on(async {
            let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(http)
                .timeout_config(
                    aws_config::timeout::TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(5))
                        .operation_timeout(Duration::from_secs(300))
                        .build(),
                );
            if env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_none() {
                loader = loader.region(aws_config::Region::new("us-east-1"));
            }
            loader.load().await
        });
        let s3conf = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(path_style)
            .build();
        S3 {
            client: aws_sdk_s3::Client::from_conf(s3conf),
            rt,
            endpoint: endpoint.unwrap_or_else(|| "AWS S3".into()),
        }
    }

    /// The process-wide client (built on first use).
    pub fn shared() -> &'static S3 {
        static S3_CLIENT: OnceLock<S3> = OnceLock::new();
        S3_CLIENT.get_or_init(S3::from_env)
    }

    fn explain<E>(&self, url: String, e: SdkError<E>) -> S3Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        // The whole chain, for classification; its innermost message, for people.
        let detail = DisplayErrorContext(&e).to_string();
        let mut cause: &dyn std::error::Error = &e;
        let mut chain = vec![cause.to_string()];
        while let Some(next) = cause.source() {
            chain.push(next.to_string());
            cause = next;
        }
        let innermost = chain.last().cloned().unwrap_or_default();
        let credentials = chain.iter().position(|m| m.contains("credentials"));
        let message = match e.code() {
            Some("NoSuchBucket") => {
                "the bucket does not exist (create it, or check the bucket name)".to_string()
            }
            Some("NoSuchKey") => "no such object".to_string(),
            Some("InvalidAccessKeyId") | Some("SignatureDoesNotMatch") | Some("AccessDenied") => {
                format!(
                    "credentials rejected ({}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile",
                    e.code().unwrap_or_default()
                )
            }
            _ if credentials.is_some() => format!(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) ({})",
                chain[credentials.unwrap_or(0)]
            ),
            _ if matches!(e, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)) => format!(
                "cannot reach the S3 endpoint {} (check AWS_ENDPOINT_URL): {innermost}",
                self.endpoint
            ),
            Some(code) => format!("{code}: {}", e.message().unwrap_or(&innermost)),
            None => detail,
        };
        S3Error { url, message }
    }

    /// Objects below `loc`/`sub`/ whose name ends with `suffix`, sorted by key; paths are
    /// relative to `loc` (`train/x.parquet`).
    ///
    /// # Errors
    /// [`S3Error`] for a missing bucket, rejected credentials or an unreachable endpoint.
    pub fn list(
        &self,
        loc: &S3Location,
        sub: &str,
        suffix: &str,
    ) -> Result<Vec<FileEntry>, S3Error> {
        let prefix = format!("{}/", loc.key(sub).trim_end_matches('/'));
        let prefix = prefix.trim_start_matches('/').to_string();
        let url = format!("s3://{}/{prefix}", loc.bucket);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let resp = self
                .rt
                .block_on(
                    self.client
                        .list_objects_v2()
                        .bucket(&loc.bucket)
                        .prefix(&prefix)
                        .set_continuation_token(token.clone())
                        .send(),
                )
                .map_err(|e| self.explain(url.clone(), e))?;
            for o in resp.contents() {
                let Some(key) = o.key() else { continue };
                if key.ends_with(suffix) {
                    let base = if loc.prefix.is_empty() {
                        key.to_string()
                    } else {
                        key.strip_prefix(&format!("{}/", loc.prefix))
                            .unwrap_or(key)
                            .to_string()
                    };
                    out.push(FileEntry {
                        path: base,
                        bytes: o.size().unwrap_or(0).max(0) as u64,
                    });
                }
            }
            token = resp.next_continuation_token().map(String::from);
            if token.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// The whole object `loc`/`rel`.
    ///
    /// # Errors
    /// [`S3Error`] naming the object.
    pub fn get(&self, loc: &S3Location, rel: &str) -> Result<Bytes, S3Error> {
        let url = loc.url(rel);
        self.rt.block_on(async {
            let resp = self
                .client
                .get_object()
                .bucket(&loc.bucket)
                .key(loc.key(rel))
                .send()
                .await
                .map_err(|e| self.explain(url.clone(), e))?;
            let data = resp.body.collect().await.map_err(|e| S3Error {
                url: url.clone(),
                message: format!("reading the object failed: {e}"),
            })?;
            Ok(data.into_bytes())
        })
    }

    /// Writes `bytes` as the object `loc`/`rel`.
    ///
    /// # Errors
    /// [`S3Error`] naming the object.
    pub fn put(&self, loc: &S3Location, rel: &str, bytes: Vec<u8>) -> Result<(), S3Error> {
        let url = loc.url(rel);
        self.rt
            .block_on(
                self.client
                    .put_object()
                    .bucket(&loc.bucket)
                    .key(loc.key(rel))
                    .body(ByteStream::from(bytes))
                    .send(),
            )
            .map_err(|e| self.explain(url, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations_and_keys() {
        let l = S3Location::parse("s3://data/fractal/v1/").unwrap();
        assert_eq!(l.bucket, "data");
        assert_eq!(l.prefix, "fractal/v1");
        assert_eq!(l.key("train/a.parquet"), "fractal/v1/train/a.parquet");
        assert_eq!(
            l.url("train/a.parquet"),
            "s3://data/fractal/v1/train/a.parquet"
        );
        let b = S3Location::parse("s3://data").unwrap();
        assert_eq!(b.key("train/a.parquet"), "train/a.parquet");
        assert!(S3Location::parse("s3://").is_none());
        assert!(S3Location::parse("/local/dir").is_none());
    }
}
