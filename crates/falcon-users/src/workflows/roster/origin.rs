//! What a plan was made against: the cloud, the CID the handle acted in, the Flight Control
//! member CID and the API client. A saved plan carries it, and [`Falcon::apply`] refuses, before
//! any change, a plan made against another cloud, CID or member CID: a plan made on the parent
//! and applied as a child (or on another tenant) would otherwise act on users it never read.

use serde::{Deserialize, Serialize};

use crate::client::Falcon;
use crate::error::Result;
use crate::model::cid::Cid;
use crate::ops::users::UserQuery;

/// Where a plan was made (or where it is being applied).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// The cloud: its region (`us-1`, `eu-1`, ...), or the name of a custom endpoint
    /// ([`FalconBuilder::endpoint_name`](crate::FalconBuilder::endpoint_name)), else its URL.
    pub cloud: String,
    /// The CID the handle acts in, as its users' entities name it (`None`: it had no user to
    /// read it from). For a member handle this is the member CID itself: User Management
    /// offers no way to read the credentials' own CID from there.
    pub cid: Option<Cid>,
    /// The Flight Control member CID the handle was made for (`None`: the credentials' own).
    pub member_cid: Option<Cid>,
    /// The API client id (never its secret). Recorded for the audit trail, not compared: another
    /// client of the same tenant may apply a plan.
    pub client_id: String,
}

impl Origin {
    /// Why a plan made at `self` must not be applied `here` (`None`: it may). The cloud and the
    /// member CID must be the same; so must the CID, when the plan knew it.
    ///
    /// ```
    /// use falcon_users::workflows::roster::Origin;
    /// let parent: falcon_users::Cid = "0123456789abcdef0123456789abcdef".parse().unwrap();
    /// let child: falcon_users::Cid = "fedcba9876543210fedcba9876543210".parse().unwrap();
    /// let made = Origin { cloud: "us-1".into(), cid: Some(parent.clone()), ..Origin::default() };
    /// let as_child = Origin { member_cid: Some(child.clone()), cid: Some(child), ..made.clone() };
    /// assert!(made.mismatch(&made).is_none());
    /// assert!(made.mismatch(&as_child).unwrap().contains("member CID"));
    /// ```
    pub fn mismatch(&self, here: &Origin) -> Option<String> {
        let cid = |c: &Option<Cid>| c.as_ref().map_or("none".to_owned(), Cid::to_string);
        let mut why = Vec::new();
        if !self.cloud.eq_ignore_ascii_case(&here.cloud) {
            why.push(format!(
                "it was made on the cloud {}, this is {}",
                self.cloud, here.cloud
            ));
        }
        if self.member_cid != here.member_cid {
            why.push(format!(
                "it was made for member CID {}, this is member CID {}",
                cid(&self.member_cid),
                cid(&here.member_cid)
            ));
        }
        if let Some(made) = &self.cid
            && here.cid.as_ref() != Some(made)
        {
            why.push(match &here.cid {
                Some(now) => format!("it was made in CID {made}, this handle acts in CID {now}"),
                None => format!(
                    "it was made in CID {made}, and the CID this handle acts in cannot be read \
                     (it lists no user)"
                ),
            });
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

impl Falcon {
    /// Where this handle is: its cloud, member CID and client id, with `cid` as read
    /// ([`Falcon::acting_cid`]).
    pub fn origin(&self, cid: Option<Cid>) -> Origin {
        Origin {
            cloud: self.cloud_label(),
            cid,
            member_cid: self.member_cid().cloned(),
            client_id: self.client_id().to_owned(),
        }
    }

    /// The CID this handle acts in, as the entity of one of its users names it (two requests;
    /// `None` when it lists no user).
    pub async fn acting_cid(&self) -> Result<Option<Cid>> {
        let page = self
            .query_user_ids(&UserQuery::new().page_size(1), 0)
            .await?;
        let Some(uuid) = page.resources.unwrap_or_default().into_iter().next() else {
            return Ok(None);
        };
        let found = self.get_users(vec![uuid]).await?;
        Ok(found
            .resources
            .into_iter()
            .find_map(|u| u.cid)
            .and_then(|c| c.parse().ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(n: u8) -> Option<Cid> {
        Some(format!("{n:032x}").parse().unwrap())
    }

    fn at(cloud: &str, cid_: Option<Cid>, member: Option<Cid>) -> Origin {
        Origin {
            cloud: cloud.into(),
            cid: cid_,
            member_cid: member,
            client_id: "client".into(),
        }
    }

    /// (made at, applied at, refused because of)
    #[test]
    fn where_a_plan_may_be_applied() {
        let other_client = Origin {
            client_id: "another".into(),
            ..at("us-1", cid(1), None)
        };
        let cases: Vec<(Origin, Origin, Option<&str>)> = vec![
            (at("us-1", cid(1), None), at("us-1", cid(1), None), None),
            (at("us-1", cid(1), None), at("US-1", cid(1), None), None),
            (at("us-1", cid(1), None), other_client, None),
            // Made where no user named the CID: only cloud and member are compared.
            (at("us-1", None, None), at("us-1", cid(1), None), None),
            (
                at("us-1", cid(1), None),
                at("eu-1", cid(1), None),
                Some("cloud us-1, this is eu-1"),
            ),
            (
                at("us-1", cid(1), None),
                at("us-1", cid(2), cid(2)),
                Some(
                    "made for member CID none, this is member CID 00000000000000000000000000000002",
                ),
            ),
            (
                at("us-1", cid(2), cid(2)),
                at("us-1", cid(1), None),
                Some("this is member CID none"),
            ),
            (
                at("us-1", cid(1), None),
                at("us-1", cid(3), None),
                Some("this handle acts in CID 00000000000000000000000000000003"),
            ),
            (
                at("us-1", cid(1), None),
                at("us-1", None, None),
                Some("cannot be read"),
            ),
        ];
        for (made, here, refused) in cases {
            let got = made.mismatch(&here);
            match refused {
                None => assert_eq!(got, None, "{made:?} at {here:?}"),
                Some(why) => {
                    let got = got.unwrap_or_default();
                    assert!(got.contains(why), "{made:?} at {here:?}: {got}");
                }
            }
        }
    }
}
