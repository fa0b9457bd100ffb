/// librdkafka's Kafka-protocol mock cluster, started in-process through its C API: real
/// brokers on loopback that any Kafka client (the server's included) reaches by
/// `bootstrap.servers`, with broker outages on demand. Messages are produced with Confluent.Kafka.
module FunctionalDruid.Tests.KafkaMockCluster

open System
open System.IO
open System.Runtime.InteropServices
open System.Text
open Confluent.Kafka

[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type private ConfNew = delegate of unit -> nativeint
[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type private ConfSet = delegate of nativeint * [<MarshalAs(UnmanagedType.LPStr)>] name: string * [<MarshalAs(UnmanagedType.LPStr)>] value: string * StringBuilder * unativeint -> int
[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type private KafkaNew = delegate of int * nativeint * StringBuilder * unativeint -> nativeint
[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type private ClusterNew = delegate of nativeint * int -> nativeint
[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type private Bootstraps = delegate of nativeint -> nativeint
[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type private TopicCreate = delegate of nativeint * [<MarshalAs(UnmanagedType.LPStr)>] topic: string * int * int -> int
[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type private BrokerSet = delegate of nativeint * int -> int
[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type private Destroy = delegate of nativeint -> unit

/// The Debian-loadable build of librdkafka in the librdkafka.redist package.
let libraryPath =
    let root = Path.Combine(Environment.GetFolderPath Environment.SpecialFolder.UserProfile, ".nuget", "packages", "librdkafka.redist")
    Directory.GetDirectories root
    |> Array.sortDescending
    |> Array.map (fun d -> Path.Combine(d, "runtimes", "linux-x64", "native", "centos8-librdkafka.so"))
    |> Array.find File.Exists

let private lib = lazy (NativeLibrary.Load libraryPath)
let private fn<'T when 'T :> Delegate> (name: string) = Marshal.GetDelegateForFunctionPointer<'T>(NativeLibrary.GetExport(lib.Force(), name))

/// A running mock cluster; disposing it stops the brokers.
type Cluster(brokers: int) =
    let errors = StringBuilder(512)
    let handle =
        let conf = (fn<ConfNew> "rd_kafka_conf_new").Invoke()
        // The handle only hosts the mock cluster; it never connects anywhere, so no warnings.
        (fn<ConfSet> "rd_kafka_conf_set").Invoke(conf, "log_level", "0", errors, unativeint 512) |> ignore
        let rk = (fn<KafkaNew> "rd_kafka_new").Invoke(0, conf, errors, unativeint 512)
        if rk = 0n then failwithf "rd_kafka_new failed: %O" errors
        rk
    let cluster =
        let mc = (fn<ClusterNew> "rd_kafka_mock_cluster_new").Invoke(handle, brokers)
        if mc = 0n then failwith "rd_kafka_mock_cluster_new failed"
        mc
    let bootstraps = Marshal.PtrToStringAnsi((fn<Bootstraps> "rd_kafka_mock_cluster_bootstraps").Invoke cluster)
    let producer =
        lazy
            (ProducerBuilder<Null, string>(
                ProducerConfig(BootstrapServers = bootstraps, Acks = Acks.All, LingerMs = 5.0, MessageTimeoutMs = 60000,
                               EnableIdempotence = false))
                .SetLogHandler(fun _ _ -> ())
                .SetErrorHandler(fun _ _ -> ())
                .Build())

    member _.Bootstraps = bootstraps
    member _.Brokers = brokers

    member _.CreateTopic(topic: string, partitions: int) =
        let err = (fn<TopicCreate> "rd_kafka_mock_topic_create").Invoke(cluster, topic, partitions, 1)
        if err <> 0 then failwithf "rd_kafka_mock_topic_create %s failed with %d" topic err

    member _.SetBrokerDown(id: int) = (fn<BrokerSet> "rd_kafka_mock_broker_set_down").Invoke(cluster, id) |> ignore
    member _.SetBrokerUp(id: int) = (fn<BrokerSet> "rd_kafka_mock_broker_set_up").Invoke(cluster, id) |> ignore
    member this.AllDown() = for b in 1 .. brokers do this.SetBrokerDown b
    member this.AllUp() = for b in 1 .. brokers do this.SetBrokerUp b

    /// Produces messages to explicit partitions and waits until every one is acknowledged.
    member _.Produce(topic: string, messages: (int * string) seq) =
        let p = producer.Force()
        let mutable failed = 0
        let report = Action<DeliveryReport<Null, string>>(fun r -> if r.Error.IsError then Threading.Interlocked.Increment &failed |> ignore)
        for (partition, value) in messages do
            let rec send () =
                try p.Produce(TopicPartition(topic, Partition partition), Message<Null, string>(Value = value), report)
                with :? ProduceException<Null, string> as e when e.Error.Code = ErrorCode.Local_QueueFull ->
                    p.Poll(TimeSpan.FromMilliseconds 50.0) |> ignore
                    send ()
            send ()
        let left = p.Flush(TimeSpan.FromSeconds 60.0)
        if left > 0 || failed > 0 then failwithf "%d messages were not acknowledged, %d failed" left failed

    interface IDisposable with
        member _.Dispose() =
            if producer.IsValueCreated then producer.Value.Dispose()
            (fn<Destroy> "rd_kafka_mock_cluster_destroy").Invoke cluster
            (fn<Destroy> "rd_kafka_destroy").Invoke handle
