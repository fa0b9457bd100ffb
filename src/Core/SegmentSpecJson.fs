/// What a segment records about the spec that built it (the metadata Druid's segmentMetadata
/// reports), in Druid's JSON forms.
module FunctionalDruid.Core.SegmentSpecJson

open System

let private jsonString (s: string) = Text.Json.JsonSerializer.Serialize s

/// A granularity in Druid's JSON form: simple names as `"HOUR"` strings (Druid prints them
/// upper-case in segmentMetadata), others as objects.
let granularityJson (g: Time.Granularity) : string =
    match Time.granularityName g with
    | Some name -> jsonString name
    | None ->
        match g with
        | Time.Granularity.Period(p, zone, origin, _) ->
            let parts =
                [ yield "\"type\":\"period\""
                  yield "\"period\":" + jsonString (Time.formatPeriod p)
                  if not (Time.isUtc zone) then yield "\"timeZone\":" + jsonString zone.Id
                  match origin with
                  | Some o -> yield "\"origin\":" + jsonString (Time.formatIso o)
                  | None -> () ]
            "{" + String.Join(",", parts) + "}"
        | Time.Granularity.Duration(ms, origin) ->
            sprintf "{\"type\":\"duration\",\"duration\":%d,\"origin\":%s}" ms (jsonString (Time.formatIso origin))
        | _ -> "\"NONE\""

/// The metadata JSON a segment carries: its aggregators, timestamp spec, query granularity
/// and rollup flag (what Druid's segmentMetadata reports).
let segmentMetadataJson (spec: IngestSpec.IngestSpec) : string =
    let aggs = spec.Metrics |> List.map Aggregation.toJson
    sprintf "{\"aggregators\":[%s],\"timestampSpec\":{\"column\":%s},\"queryGranularity\":%s,\"rollup\":%b}"
        (String.Join(",", aggs)) (jsonString spec.TimestampSpec.Column) (granularityJson spec.GranularitySpec.QueryGranularity) spec.Rollup
