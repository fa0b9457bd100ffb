/// Bucket starts of one granularity, remembered: period granularities truncate through the
/// calendar (NodaTime), which costs far more per row than the rest of an ingested row's time
/// handling, while the rows of an ingestion fall into few buckets.
module FunctionalDruid.Core.TimeBuckets

open System
open FunctionalDruid.Core.Time

/// `Time.bucketStart g` with a direct-mapped cache of buckets (slots as wide as the first
/// bucket computed, so neighbouring buckets take neighbouring slots): a hit is a time inside
/// the slot's bucket [start, next start), which in UTC is exactly the times whose bucket
/// start is `start`. Zoned periods are not cached
/// (a day of a zone with a DST gap need not run from one truncation to the next).
[<Sealed>]
type BucketCache(g: Granularity) =
    static let slots = 4096
    let cached =
        match g with
        | Granularity.Period(_, zone, _, _) -> isUtc zone
        | _ -> false
    let starts : int64[] = if cached then Array.create slots Int64.MaxValue else null
    let ends : int64[] = if cached then Array.create slots Int64.MinValue else null
    let mutable slotWidth = 0L

    member _.Granularity = g

    member _.Start(t: int64) : int64 =
        if not cached then bucketStart g t
        else
            let slot = if slotWidth = 0L then 0 else int (uint64 (t / slotWidth) &&& uint64 (slots - 1))
            if t >= starts.[slot] && t < ends.[slot] then starts.[slot]
            else
                let start = bucketStart g t
                let stop = nextBucket g start
                if slotWidth = 0L && stop > start then slotWidth <- stop - start
                else if t >= start && t < stop then
                    starts.[slot] <- start
                    ends.[slot] <- stop
                start
