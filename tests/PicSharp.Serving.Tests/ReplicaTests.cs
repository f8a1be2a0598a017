using PicSharp.Lab;

namespace PicSharp.Serving.Tests;

/// <summary>A short `pic-lab replica-crash`: two `pic serve` processes on one PostgreSQL store, the first killed with
/// SIGKILL during creates, the second serving and answering what the first acknowledged.</summary>
[Collection(nameof(TinyService))]
public sealed class ReplicaTests(TinyService tiny)
{
    [Fact]
    public async Task A_memory_created_through_one_replica_is_served_and_asked_through_the_other_after_the_first_is_killed()
    {
        var postgres = new PostgresServer();
        try
        {
            string store = postgres.NewDatabase();
            var result = await ReplicaDrill.RunAsync(new ReplicaDrillOptions(ServeCrashDrill.PicCommand(RepoFolder.PicDll()), tiny.ModelDir, tiny.CompressorDir, store,
                Clients: 4, KillAfterAcknowledged: 6, Sentences: 4));
            string location = $"postgresql://postgres@127.0.0.1:{postgres.Port}/{new Npgsql.NpgsqlConnectionStringBuilder(store).Database}";
            Assert.Equal([location, location], result.ReadyStores);
            Assert.True(result.Acknowledged >= 6, $"{result.Acknowledged} acknowledged");
            Assert.Equal(0, result.MissingOnSurvivor);
            Assert.True(result.StoredOnSurvivor >= result.Acknowledged, $"{result.StoredOnSurvivor} stored of {result.Acknowledged} acknowledged");
            Assert.True(result.SurvivorAnswered);
        }
        finally { postgres.Dispose(); }
    }
}
