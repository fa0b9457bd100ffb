/// Window functions (ROW_NUMBER, RANK, DENSE_RANK, NTILE, PERCENT_RANK, CUME_DIST, LAG, LEAD,
/// FIRST_VALUE, LAST_VALUE and aggregates OVER a partition/order/frame) over materialized rows.
module FunctionalDruid.Sql.Window

open FunctionalDruid.Core
open FunctionalDruid.Sql.Ast
open FunctionalDruid.Sql.Translate
open FunctionalDruid.Sql.Relational
open FunctionalDruid.Sql.SqlRewrite

/// Window functions over the rows of one SELECT (after grouping).
let compute (scope: Scope) (fields: Field list) (rows: Value[][]) (call: Ast.Expr) : Value[] * SqlType =
    match call with
    | Expr.Call(name, distinct, args, filter, Some w) ->
        let compile e = compileOver fields (fst (translate scope e))
        let partitionKeys = w.PartitionBy |> List.map compile |> Array.ofList
        let orderKeys = w.OrderBy |> List.map (fun o -> compile o.Expr) |> Array.ofList
        let translatedArgs = args |> List.filter (function Expr.Star _ -> false | _ -> true) |> List.map (translate scope)
        let argEvals = translatedArgs |> List.map (fst >> compileOver fields) |> Array.ofList
        let resultType =
            match name with
            | "ROW_NUMBER" | "RANK" | "DENSE_RANK" | "NTILE" -> SqlType.Bigint
            | "PERCENT_RANK" | "CUME_DIST" -> SqlType.Double
            | "LAG" | "LEAD" | "FIRST_VALUE" | "LAST_VALUE" -> (match translatedArgs with (_, t) :: _ -> t | [] -> SqlType.Null)
            | _ -> aggregateType name (translatedArgs |> List.map snd)
        let result = Array.create rows.Length Value.Null
        let partitions =
            [| 0 .. rows.Length - 1 |] |> Array.groupBy (fun i -> partitionKeys |> Array.map (fun k -> k rows.[i]) |> List.ofArray)
        for (_, members) in partitions do
            let ordered =
                if orderKeys.Length = 0 then List.ofArray members
                else sortRows (orderKeys |> Array.map (fun k -> fun i -> k rows.[i]) |> List.ofArray) (w.OrderBy |> List.map (fun o -> o.Descending)) (w.OrderBy |> List.map (fun o -> o.NullsFirst)) (List.ofArray members)
            let ordered = Array.ofList ordered
            let orderValue (i: int) = orderKeys |> Array.map (fun k -> k rows.[i]) |> List.ofArray
            let argAt (i: int) (k: int) = if k < argEvals.Length then argEvals.[k] rows.[i] else Value.Null
            let constArg (k: int) = if k < args.Length then constantValue scope args.[k] else None
            let n = ordered.Length
            // peers: rows with equal ORDER BY values share rank and the default frame end.
            let peerEnd = Array.zeroCreate n
            let mutable j = n - 1
            while j >= 0 do
                peerEnd.[j] <- (if j < n - 1 && orderKeys.Length > 0 && orderValue ordered.[j] = orderValue ordered.[j + 1] then peerEnd.[j + 1] else j)
                j <- j - 1
            let mutable rank = 0
            let mutable dense = 0
            for p in 0 .. n - 1 do
                let i = ordered.[p]
                let newPeer = p = 0 || orderValue ordered.[p - 1] <> orderValue i
                if newPeer then
                    rank <- p + 1
                    dense <- dense + 1
                let frameRows () =
                    match w.Frame with
                    | Some f ->
                        let bound (b: FrameBound) isLower =
                            match b with
                            | FrameBound.UnboundedPreceding -> 0
                            | FrameBound.UnboundedFollowing -> n - 1
                            | FrameBound.CurrentRow -> if f.Rows then p elif isLower then (let mutable s = p in (while s > 0 && orderValue ordered.[s - 1] = orderValue i do s <- s - 1); s) else peerEnd.[p]
                            | FrameBound.Preceding k -> p - int k
                            | FrameBound.Following k -> p + int k
                        let lo, hi = max 0 (bound f.Lower true), min (n - 1) (bound f.Upper false)
                        if lo > hi then [||] else ordered.[lo..hi]
                    | None -> if orderKeys.Length = 0 then ordered else ordered.[0 .. peerEnd.[p]]
                result.[i] <-
                    match name with
                    | "ROW_NUMBER" -> Value.Long(int64 (p + 1))
                    | "RANK" -> Value.Long(int64 rank)
                    | "DENSE_RANK" -> Value.Long(int64 dense)
                    | "PERCENT_RANK" -> Value.Double(if n <= 1 then 0.0 else float (rank - 1) / float (n - 1))
                    | "CUME_DIST" -> Value.Double(float (peerEnd.[p] + 1) / float n)
                    | "NTILE" ->
                        let buckets = defaultArg (constArg 0 |> Option.bind Value.toLong) 1L |> int
                        Value.Long(int64 (p * buckets / n + 1))
                    | "LAG" | "LEAD" ->
                        let offset = defaultArg (constArg 1 |> Option.bind Value.toLong) 1L |> int
                        let target = if name = "LAG" then p - offset else p + offset
                        if target >= 0 && target < n then argAt ordered.[target] 0
                        elif args.Length > 2 then argAt i 2
                        else Value.Null
                    | "FIRST_VALUE" -> let fr = frameRows () in if fr.Length = 0 then Value.Null else argAt fr.[0] 0
                    | "LAST_VALUE" -> let fr = frameRows () in if fr.Length = 0 then Value.Null else argAt fr.[fr.Length - 1] 0
                    | _ ->
                        let fr = frameRows ()
                        let argValues = fr |> Array.map (fun r -> argEvals |> Array.map (fun ev -> ev rows.[r]))
                        aggregate name distinct resultType argValues (Array.create fr.Length Value.Null) (args |> List.map (fun a -> defaultArg (constantValue scope a) Value.Null))
        result, resultType
    | _ -> failwith "not a window call"
