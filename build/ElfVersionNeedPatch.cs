// Lets TorchSharp's native library load where the system libstdc++ is older than the one it was linked against.
//
// libLibTorchSharp.so (TorchSharp 0.107) records a need for GLIBCXX_3.4.32 because of a single symbol that GCC 13
// emits for iostream start-up; Debian 12 ships GCC 12's libstdc++ (up to GLIBCXX_3.4.30), so the dynamic loader
// refuses the whole file. Marking that version-need entry VER_FLG_WEAK turns the hard failure into a tolerated
// miss, which is safe for this symbol. Entries the system library does provide are never touched, so on a newer
// system this task changes nothing.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenMissingLibstdcxxVersions : Task
{
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;
    static readonly string[] LibstdcxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6",
        "/usr/lib/libstdc++.so.6",
    };

    [Required] public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        string? system = Array.Find(LibstdcxxCandidates, File.Exists);
        if (system is null)
        {
            Log.LogMessage(MessageImportance.Normal, "No system libstdc++.so.6 found; native libraries left as they are.");
            return true;
        }
        byte[] systemBytes = File.ReadAllBytes(system);
        foreach (ITaskItem item in Libraries)
        {
            try { Patch(item.ItemSpec, name => Provides(systemBytes, name)); }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                Log.LogWarning("Could not inspect {0}: {1}", item.ItemSpec, e.Message);
            }
        }
        return !Log.HasLoggedErrors;
    }

    // A version is defined by the library when its name appears NUL-delimited in the string table.
    static bool Provides(byte[] library, string version)
    {
        byte[] needle = Encoding.ASCII.GetBytes("\0" + version + "\0");
        for (int i = 0; i + needle.Length <= library.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && library[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    void Patch(string path, Func<string, bool> systemProvides)
    {
        byte[] elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is handled");

        ulong sectionTable = BitConverter.ToUInt64(elf, 0x28);
        int sectionSize = BitConverter.ToUInt16(elf, 0x3A);
        int sectionCount = BitConverter.ToUInt16(elf, 0x3C);
        var patched = new List<(int Offset, string Name)>();
        for (int s = 0; s < sectionCount; s++)
        {
            int header = checked((int)sectionTable + s * sectionSize);
            if (BitConverter.ToUInt32(elf, header + 4) != ShtGnuVerneed) continue;
            int verneed = checked((int)BitConverter.ToUInt64(elf, header + 0x18));
            int entries = (int)BitConverter.ToUInt32(elf, header + 0x2C);
            int stringSection = checked((int)sectionTable + (int)BitConverter.ToUInt32(elf, header + 0x28) * sectionSize);
            int strings = checked((int)BitConverter.ToUInt64(elf, stringSection + 0x18));

            int need = verneed;
            for (int n = 0; n < entries; n++)
            {
                int auxCount = BitConverter.ToUInt16(elf, need + 2);
                string file = CString(elf, strings + (int)BitConverter.ToUInt32(elf, need + 4));
                int aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    ushort flags = BitConverter.ToUInt16(elf, aux + 4);
                    string name = CString(elf, strings + (int)BitConverter.ToUInt32(elf, aux + 8));
                    if (file == "libstdc++.so.6" && (flags & VerFlgWeak) == 0 && !systemProvides(name))
                        patched.Add((aux + 4, name));
                    aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                }
                need += (int)BitConverter.ToUInt32(elf, need + 12);
            }
        }
        if (patched.Count == 0) return;

        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            foreach (var (offset, name) in patched)
            {
                ushort flags = (ushort)(BitConverter.ToUInt16(elf, offset) | VerFlgWeak);
                stream.Position = offset;
                stream.Write(BitConverter.GetBytes(flags), 0, 2);
                Log.LogMessage(MessageImportance.High, "{0}: marked weak the need for {1}, which the system libstdc++ lacks", Path.GetFileName(path), name);
            }
        }
    }

    static string CString(byte[] bytes, int start)
    {
        int end = Array.IndexOf(bytes, (byte)0, start);
        if (end < 0) throw new InvalidDataException("unterminated string in ELF string table");
        return Encoding.ASCII.GetString(bytes, start, end - start);
    }
}
