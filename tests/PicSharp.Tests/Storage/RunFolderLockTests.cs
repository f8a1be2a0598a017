using System.Diagnostics;
using PicSharp.Storage;

namespace PicSharp.Tests.Storage;

public sealed class RunFolderLockTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-lock-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void A_second_claim_is_refused_naming_the_holder_and_succeeds_after_release()
    {
        string run = Path.Combine(root, "run");
        using (RunFolderLock.Acquire(run))
        {
            var refused = Assert.Throws<RunFolderInUseException>(() => RunFolderLock.Acquire(run));
            Assert.Contains($"process {Environment.ProcessId}", refused.Message);
            Assert.IsAssignableFrom<IOException>(refused); // the CLI's one-line rule covers it
        }
        using (RunFolderLock.Acquire(run)) { }
    }

    [Fact]
    public void A_claim_held_by_another_process_is_refused_with_its_pid()
    {
        string run = Path.Combine(root, "run");
        Directory.CreateDirectory(run);
        string lockPath = Path.Combine(run, RunFolderLock.FileName), holderPath = Path.Combine(run, RunFolderLock.HolderFileName);
        // Another process claims the folder the way FileShare.None does on Linux (flock(1) from util-linux; -o keeps
        // the lock out of its child), after naming itself in the holder file.
        using var holder = Process.Start(new ProcessStartInfo("sh",
            ["-c", $"echo $$ > '{holderPath}'; exec flock -o '{lockPath}' sh -c 'echo held; exec cat'"])
        { RedirectStandardInput = true, RedirectStandardOutput = true })!;
        try
        {
            Assert.Equal("held", holder.StandardOutput.ReadLine());
            var refused = Assert.Throws<RunFolderInUseException>(() => RunFolderLock.Acquire(run));
            Assert.Contains($"process {holder.Id}", refused.Message);
        }
        finally
        {
            holder.Kill(); // flock dies holding the lock; its child `cat` ends with its input
            holder.StandardInput.Close();
            holder.WaitForExit();
        }
        // The holder died without releasing anything: its stale .lock (still naming it) is no obstacle.
        Assert.Equal($"{holder.Id}", File.ReadAllText(holderPath).Trim());
        using (RunFolderLock.Acquire(run))
            Assert.Equal($"{Environment.ProcessId}\n", File.ReadAllText(holderPath));
    }

    [Fact]
    public void Claiming_a_folder_removes_the_temporaries_of_killed_atomic_writes_and_nothing_else()
    {
        string run = Path.Combine(root, "run");
        string checkpoint = Path.Combine(run, "checkpoint");
        AtomicFolder.Write(checkpoint, dir => File.WriteAllText(Path.Combine(dir, "state.json"), "{}"));
        // What `kill -9` during a write leaves: a checkpoint.tmp-<guid>/ beside the checkpoint and a .name.<guid>.tmp file.
        string staleFolder = $"{checkpoint}.tmp-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staleFolder);
        File.WriteAllText(Path.Combine(staleFolder, "model.safetensors"), "half");
        string staleFile = Path.Combine(checkpoint, $".loss.png.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(staleFile, "half");
        string[] kept = [Path.Combine(run, "notes.tmp-draft"), Path.Combine(run, ".hidden.tmp"), Path.Combine(run, "metrics.jsonl")];
        foreach (string file in kept) File.WriteAllText(file, "mine");

        using var claim = RunFolderLock.Acquire(run);

        Assert.Equal([staleFolder, staleFile], claim.RemovedLeftovers.Order());
        Assert.False(Directory.Exists(staleFolder));
        Assert.False(File.Exists(staleFile));
        Assert.True(File.Exists(Path.Combine(checkpoint, "state.json")));
        Assert.All(kept, file => Assert.True(File.Exists(file)));
    }

    [Fact]
    public void A_killed_checkpoint_write_whose_temporary_folder_holds_a_temporary_file_is_removed_in_one_go()
    {
        // kill -9 while the checkpoint's model file was being written: checkpoint.tmp-<guid>/.model.safetensors.<guid>.tmp.
        string run = Path.Combine(root, "run");
        string staleFolder = Path.Combine(run, $"checkpoint.tmp-{Guid.NewGuid():N}");
        string nested = Path.Combine(staleFolder, "adapter");
        Directory.CreateDirectory(nested);
        File.WriteAllText(Path.Combine(staleFolder, $".model.safetensors.{Guid.NewGuid():N}.tmp"), "half");
        File.WriteAllText(Path.Combine(nested, $".adapter_model.safetensors.{Guid.NewGuid():N}.tmp"), "half");

        using var claim = RunFolderLock.Acquire(run);

        Assert.Equal([staleFolder], claim.RemovedLeftovers);
        Assert.False(Directory.Exists(staleFolder));
    }
}
