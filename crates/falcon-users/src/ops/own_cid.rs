//! The CID a handle acts in, as the service itself states it (`GetSensorInstallersCCIDByQuery`,
//! a sensor-download operation that needs its own scope).

use falcon_users_api::operations::GET_SENSOR_INSTALLERS_CCID_BY_QUERY;

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::model::cid::Cid;
use crate::ops::scope::needs_scope;
use crate::runtime::response::call;

/// The Falcon console's name of the scope the lookup needs (`sensor-installers:read`), which is
/// what a user ticks when editing the API client.
pub const SENSOR_DOWNLOAD_READ: &str = "Sensor Download: Read";

/// The CID a handle acts in, as [`Falcon::own_cid`] reads it from the service.
///
/// ```
/// use falcon_users::OwnCid;
/// let own: OwnCid = "0123456789ABCDEF0123456789ABCDEF-C4".parse().unwrap();
/// assert_eq!(own.cid.as_str(), "0123456789abcdef0123456789abcdef");
/// assert_eq!(own.with_checksum, "0123456789ABCDEF0123456789ABCDEF-C4");
/// assert!("not a cid".parse::<OwnCid>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnCid {
    /// The CID, normalised as every other CID of this crate (32 lowercase hex).
    pub cid: Cid,
    /// The CID as the service states it: upper case with its `-XX` checksum, the form the
    /// Falcon console shows and sensor installers take (`CCID`).
    pub with_checksum: String,
}

impl std::str::FromStr for OwnCid {
    type Err = Error;

    /// Reads the service's form; a CID without a checksum is taken as it is.
    fn from_str(text: &str) -> Result<Self> {
        let with_checksum = text.trim().to_owned();
        Ok(OwnCid {
            cid: with_checksum.parse()?,
            with_checksum,
        })
    }
}

impl std::fmt::Display for OwnCid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.with_checksum)
    }
}

impl Falcon {
    /// The CID this handle acts in, as the service states it: the credentials' own CID, or the
    /// member CID of a [`Falcon::for_member`] handle. One request
    /// (`GetSensorInstallersCCIDByQuery`), which works in a CID without users too.
    ///
    /// The API client needs the scope "Sensor Download: Read" (`sensor-installers:read`)
    /// besides its User Management ones; without it this fails with an [`Error::Auth`]
    /// ([`AuthProblem::Forbidden`](crate::AuthProblem::Forbidden)) that names the scope.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// let own = falcon.own_cid().await?;
    /// println!("acting in {} (console form {})", own.cid, own.with_checksum);
    /// # Ok(()) }
    /// ```
    pub async fn own_cid(&self) -> Result<OwnCid> {
        let op = &GET_SENSOR_INSTALLERS_CCID_BY_QUERY;
        let api = self.ready().await?;
        let answer = call(op, api.get_sensor_installers_ccid_by_query().send())
            .await
            .map_err(|e| needs_scope(e, op, SENSOR_DOWNLOAD_READ, "reading the CID"))?;
        let resources = answer.resources.unwrap_or_default();
        match resources.as_slice() {
            [one] => one.parse().map_err(|e: Error| Error::Decode {
                operation: op.id,
                message: format!("the service's CID is not one: {e}"),
            }),
            _ => Err(Error::Decode {
                operation: op.id,
                message: format!("expected one CID, got {}", resources.len()),
            }),
        }
    }
}
