/// Druid's retention rules: which segments the cluster loads, which it drops. A segment is
/// matched against its data source's rules, then the `_default` rules; the first rule that
/// applies decides. "Now" is a parameter, so evaluation is a pure function of its inputs.
module FunctionalDruid.Core.RetentionRules

open FunctionalDruid.Core.Time
open FunctionalDruid.Core.Json

/// The data source whose rules apply after every data source's own.
[<Literal>]
let DefaultRulesKey = "_default"

[<Literal>]
let DefaultTier = "_default_tier"

/// Druid's default replication: two copies in the default tier.
[<Literal>]
let DefaultReplicants = 2

/// Which segment intervals a rule applies to.
[<RequireQualifiedAccess>]
type Scope =
    | Forever
    | ByInterval of Interval
    /// [now − period, now], reaching into the future when IncludeFuture.
    | ByPeriod of period: Period * includeFuture: bool
    /// Segments that ended at or before now − period (dropBeforeByPeriod).
    | BeforePeriod of Period

[<RequireQualifiedAccess>]
type Action =
    /// Tier → replica count, in the order given.
    | Load of tieredReplicants: (string * int) list * useDefaultTierForNull: bool
    | Drop
    | Broadcast

type Rule = { Action: Action; Scope: Scope }

/// What Druid falls back on when nothing else is configured: loadForever, 2 replicas in _default_tier.
let defaultRules: Rule list =
    [ { Action = Action.Load([ DefaultTier, DefaultReplicants ], true); Scope = Scope.Forever } ]

// ---- matching ----------------------------------------------------------------------------

/// Joda's Interval.contains(Interval): the other interval starts inside this one and ends
/// no later than it.
let private jodaContains (outer: Interval) (inner: Interval) =
    outer.Start <= inner.Start && inner.Start < outer.End && inner.End <= outer.End

let private overlaps (a: Interval) (b: Interval) = a.Start < b.End && b.Start < a.End

/// Whether a rule applies to a segment interval at instant `now` (epoch millis, UTC).
let appliesTo (now: int64) (segment: Interval) (rule: Rule) : bool =
    let window (p: Period) = { Start = addPeriod NodaTime.DateTimeZone.Utc p -1 now; End = now }
    match rule.Scope with
    | Scope.Forever -> true
    | Scope.BeforePeriod p -> segment.End <= (window p).Start
    | Scope.ByInterval i ->
        match rule.Action with
        | Action.Drop -> jodaContains i segment
        | Action.Load _ | Action.Broadcast -> overlaps i segment
    | Scope.ByPeriod(p, includeFuture) ->
        let w = window p
        match rule.Action, includeFuture with
        | Action.Drop, true -> w.Start <= segment.Start
        | Action.Drop, false -> jodaContains w segment
        | (Action.Load _ | Action.Broadcast), true -> w.Start < segment.End
        | (Action.Load _ | Action.Broadcast), false -> overlaps w segment

/// The first rule of the data source's rules, then the default rules, that applies.
let firstMatch (now: int64) (dataSourceRules: Rule list) (defaults: Rule list) (segment: Interval) : Rule option =
    match List.tryFind (appliesTo now segment) dataSourceRules with
    | Some _ as hit -> hit
    | None -> List.tryFind (appliesTo now segment) defaults

/// Total replicas a rule asks for across tiers.
let replicantCount (rule: Rule) =
    match rule.Action with
    | Action.Load(tiers, _) -> List.sumBy snd tiers
    | Action.Drop | Action.Broadcast -> 0

/// Whether this single-process cluster serves a segment the rule matched: a load rule with
/// at least one replica in any tier (this process plays every tier), or a broadcast rule.
/// No matching rule at all means the segment is not loaded, as in Druid.
let shouldLoad (matched: Rule option) =
    match matched with
    | Some({ Action = Action.Load _ } as r) -> replicantCount r > 0
    | Some { Action = Action.Broadcast } -> true
    | Some { Action = Action.Drop } | None -> false

let isDrop (matched: Rule option) =
    match matched with
    | Some { Action = Action.Drop } -> true
    | _ -> false

// ---- JSON --------------------------------------------------------------------------------

let private ruleTypes =
    [ "loadForever"; "loadByInterval"; "loadByPeriod"; "dropForever"; "dropByInterval"; "dropByPeriod"
      "dropBeforeByPeriod"; "broadcastForever"; "broadcastByInterval"; "broadcastByPeriod" ]

let private period (node: Node) : Period =
    let p = field node "period"
    match tryParsePeriod (asString p) with
    | Some v -> v
    | None -> fail p (sprintf "Invalid period [%s]" (asString p))

let private interval (node: Node) : Interval =
    let i = field node "interval"
    match tryParseInterval (asString i) with
    | Some v -> v
    | None -> fail i (sprintf "Invalid interval [%s]" (asString i))

let private tieredReplicants (node: Node) : (string * int) list * bool =
    let useDefault = boolOr node "useDefaultTierForNull" true
    match tryField node "tieredReplicants" with
    | Some t when not (isNull t) ->
        let tiers =
            properties t
            |> List.map (fun (tier, n) ->
                if isNull n then fail n "Replicant value cannot be empty"
                let count = asInt n
                if count < 0 then fail n (sprintf "Replicant value [%d] is less than 0, which is not allowed" count)
                tier, count)
        tiers, useDefault
    | _ -> (if useDefault then [ DefaultTier, DefaultReplicants ] else []), useDefault

/// One rule object, e.g. `{"type":"loadByPeriod","period":"P1M","tieredReplicants":{"hot":1}}`.
let parseRule (node: Node) : Rule =
    let node = expectObject node
    let typeNode = field node "type"
    let includeFuture () = boolOr node "includeFuture" true
    let load scope = { Action = Action.Load(tieredReplicants node); Scope = scope }
    match asString typeNode with
    | "loadForever" -> load Scope.Forever
    | "loadByInterval" -> load (Scope.ByInterval(interval node))
    | "loadByPeriod" -> load (Scope.ByPeriod(period node, includeFuture ()))
    | "dropForever" -> { Action = Action.Drop; Scope = Scope.Forever }
    | "dropByInterval" -> { Action = Action.Drop; Scope = Scope.ByInterval(interval node) }
    | "dropByPeriod" -> { Action = Action.Drop; Scope = Scope.ByPeriod(period node, includeFuture ()) }
    | "dropBeforeByPeriod" -> { Action = Action.Drop; Scope = Scope.BeforePeriod(period node) }
    | "broadcastForever" -> { Action = Action.Broadcast; Scope = Scope.Forever }
    | "broadcastByInterval" -> { Action = Action.Broadcast; Scope = Scope.ByInterval(interval node) }
    | "broadcastByPeriod" -> { Action = Action.Broadcast; Scope = Scope.ByPeriod(period node, includeFuture ()) }
    | other -> fail typeNode (sprintf "Unknown rule type [%s], expected one of %s" other (String.concat ", " ruleTypes))

/// A JSON array of rules (the body of POST /druid/coordinator/v1/rules/{dataSource}).
let parseRules (node: Node) : Rule list =
    if not (isArray node) then fail node "Expected a JSON array of rules"
    elements node |> List.map parseRule

/// Parses rules text; a JSON path and problem on bad input.
let tryParseRules (text: string) : Result<Rule list, string * string> = run text parseRules

let typeName (rule: Rule) =
    match rule.Action, rule.Scope with
    | Action.Load _, Scope.Forever -> "loadForever"
    | Action.Load _, Scope.ByInterval _ -> "loadByInterval"
    | Action.Load _, (Scope.ByPeriod _ | Scope.BeforePeriod _) -> "loadByPeriod"
    | Action.Drop, Scope.Forever -> "dropForever"
    | Action.Drop, Scope.ByInterval _ -> "dropByInterval"
    | Action.Drop, Scope.ByPeriod _ -> "dropByPeriod"
    | Action.Drop, Scope.BeforePeriod _ -> "dropBeforeByPeriod"
    | Action.Broadcast, Scope.Forever -> "broadcastForever"
    | Action.Broadcast, Scope.ByInterval _ -> "broadcastByInterval"
    | Action.Broadcast, (Scope.ByPeriod _ | Scope.BeforePeriod _) -> "broadcastByPeriod"

/// A rule as Druid serialises it back: every property spelled out, defaults included.
let ruleToJson (rule: Rule) : Out =
    let scope =
        match rule.Scope with
        | Scope.Forever -> []
        | Scope.ByInterval i -> [ "interval", Out.String(formatInterval i) ]
        | Scope.ByPeriod(p, future) -> [ "period", Out.String(formatPeriod p); "includeFuture", Out.Bool future ]
        | Scope.BeforePeriod p -> [ "period", Out.String(formatPeriod p) ]
    let action =
        match rule.Action with
        | Action.Load(tiers, useDefault) ->
            [ "tieredReplicants", Out.Object(tiers |> List.map (fun (t, n) -> t, Out.Long(int64 n)))
              "useDefaultTierForNull", Out.Bool useDefault ]
        | Action.Drop | Action.Broadcast -> []
    Out.Object(("type", Out.String(typeName rule)) :: scope @ action)

let rulesToJson (rules: Rule list) : Out = Out.Array(List.map ruleToJson rules)

/// Compact JSON text of a rule list, as stored and as the rules API returns it.
let rulesText (rules: Rule list) : string = Out.toText false (rulesToJson rules)
