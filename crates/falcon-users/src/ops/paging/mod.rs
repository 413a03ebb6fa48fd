//! Offset/limit listings as `Stream`s (the next request is sent while the current page is
//! consumed), split by login past the service's offset ceiling; ids turned into entities in
//! batches; id lists split into batches and merged back in order.
//!
//! Every stream here keeps its order, delivers every row it fetched before an error, yields the
//! error, and ends.
//!
//! Where a listing goes after each page is one pure decision, `next_page`: the next offset is
//! where the last page was *asked* to end, whatever came back, and a part that cannot be shown
//! complete says so.
//!
//! One concept per module, each importing only those before it: what a request asks for and
//! gets (`page`), the paging decision (`next`), where a walk past the ceiling stands
//! (`progress`), the walk's decisions (`walk`), the prefetching stream that sends its requests
//! (`prefetch`), and ids turned into entities in batches (`batch`).
//!
//! ```
//! use falcon_users::paging::{DEFAULT_OFFSET_CEILING, Entities};
//!
//! let found: Entities<String> = Entities::default();
//! assert!(found.resources.is_empty() && found.errors.is_empty());
//! assert_eq!(DEFAULT_OFFSET_CEILING, 10_000);
//! ```

mod batch;
mod next;
mod page;
mod prefetch;
mod progress;
mod walk;

pub use crate::ops::partition::DEFAULT_OFFSET_CEILING;
pub use batch::Entities;
pub(crate) use batch::{batched, detailed, end_at_error};
pub(crate) use page::{Listing, Page, Slice};
pub(crate) use prefetch::listing;
