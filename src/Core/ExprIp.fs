/// IP address functions of Druid's expression language: ipv4_match, ipv4_parse,
/// ipv4_stringify and ipv6_match. IPv4 addresses are dotted-decimal strings or longs in
/// [0, 2^32); subnets are CIDR literals.
module FunctionalDruid.Core.ExprIp

open System
open System.Net
open System.Net.Sockets
open FunctionalDruid.Core
open FunctionalDruid.Core.ExprOps
open FunctionalDruid.Core.ExprFunctions

/// Four dot-separated decimal octets of one to three digits, each at most 255.
let tryParseIpv4 (text: string) : int64 option =
    if isNull text then None
    else
        let parts = text.Split('.')
        if parts.Length <> 4 then None
        else
            let mutable result = 0L
            let mutable ok = true
            for p in parts do
                if p.Length = 0 || p.Length > 3 || not (p |> Seq.forall Char.IsAsciiDigit) then ok <- false
                else
                    let octet = Int64.Parse p
                    if octet > 255L then ok <- false
                    else result <- (result <<< 8) ||| octet
            if ok then Some result else None

let ipv4ToString (address: int64) : string =
    sprintf "%d.%d.%d.%d" ((address >>> 24) &&& 255L) ((address >>> 16) &&& 255L) ((address >>> 8) &&& 255L) (address &&& 255L)

let private isIpv4Long (l: int64) = l >= 0L && l <= 0xFFFFFFFFL

/// A CIDR subnet as (network, mask) over 32-bit addresses.
let tryParseIpv4Subnet (cidr: string) : (int64 * int64) option =
    if isNull cidr then None
    else
        match cidr.Split('/') with
        | [| address; bits |] ->
            match tryParseIpv4 address, Int32.TryParse bits with
            | Some a, (true, n) when n >= 0 && n <= 32 && bits |> Seq.forall Char.IsAsciiDigit ->
                let mask = if n = 0 then 0L else (0xFFFFFFFFL <<< (32 - n)) &&& 0xFFFFFFFFL
                Some(a &&& mask, mask)
            | _ -> None
        | _ -> None

let private tryParseIpv6 (text: string) : byte[] option =
    if isNull text || not (text.Contains ':') then None
    else
        match IPAddress.TryParse text with
        | true, a when a.AddressFamily = AddressFamily.InterNetworkV6 && a.ScopeId = 0L -> Some(a.GetAddressBytes())
        | _ -> None

let tryParseIpv6Subnet (cidr: string) : (byte[] * int) option =
    if isNull cidr then None
    else
        match cidr.Split('/') with
        | [| address; bits |] ->
            match tryParseIpv6 address, Int32.TryParse bits with
            | Some a, (true, n) when n >= 0 && n <= 128 && bits |> Seq.forall Char.IsAsciiDigit -> Some(a, n)
            | _ -> None
        | _ -> None

let private prefixMatches (address: byte[]) (network: byte[]) (bits: int) =
    let mutable ok = true
    let mutable i = 0
    while ok && i * 8 < bits do
        let take = min 8 (bits - i * 8)
        let mask = byte ((0xFF <<< (8 - take)) &&& 0xFF)
        if (address.[i] &&& mask) <> (network.[i] &&& mask) then ok <- false
        i <- i + 1
    ok

let private subnetArg (name: string) (parse: string -> 'a option) (e: ExprSyntax.Expr) : 'a =
    let text = literalString name "subnet" e
    match parse text with
    | Some s -> s
    | None -> fail name (sprintf "subnet arg has an invalid format: %s" text)

let ipFunctions : (string * FunctionDef) list =
    [ "ipv4_match", specialFn (Exactly 2) (fun compile args ->
          let network, mask = subnetArg "ipv4_match" tryParseIpv4Subnet args.[1]
          let value = compile args.[0]
          let inSubnet (a: int64) = ofBool (isIpv4Long a && (a &&& mask) = network)
          fun row ->
              value row |> lift1 (fun v ->
                  match v with
                  | Value.Long l -> inSubnet l
                  | Value.String s -> match tryParseIpv4 s with Some a -> inSubnet a | None -> Value.Long 0L
                  | _ -> Value.Long 0L))
      "ipv4_parse", fn1 (fun v ->
          match v with
          | Value.Long l when isIpv4Long l -> v
          | Value.String s -> match tryParseIpv4 s with Some a -> Value.Long a | None -> Value.Null
          | _ -> Value.Null)
      "ipv4_stringify", fn1 (fun v ->
          match v with
          | Value.Long l when isIpv4Long l -> Value.String(ipv4ToString l)
          | Value.String s when (tryParseIpv4 s).IsSome -> v
          | _ -> Value.Null)
      "ipv6_match", specialFn (Exactly 2) (fun compile args ->
          let network, bits = subnetArg "ipv6_match" tryParseIpv6Subnet args.[1]
          let value = compile args.[0]
          fun row ->
              value row |> lift1 (fun v ->
                  match v with
                  | Value.String s ->
                      match tryParseIpv6 s with
                      | Some a -> ofBool (prefixMatches a network bits)
                      | None -> Value.Long 0L
                  | _ -> Value.Long 0L)) ]
