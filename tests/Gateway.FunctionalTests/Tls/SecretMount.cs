using System.Runtime.InteropServices;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Tls;

/// <summary>
/// A directory laid out as kubelet mounts a Secret: tls.crt -> ..data/tls.crt, ..data -> ..&lt;timestamp&gt;/, and
/// updated atomically by a new timestamped directory and a ..data_tmp symlink renamed over ..data.
/// </summary>
public sealed partial class SecretMount : IDisposable
{
    private int _version;

    public SecretMount(IReadOnlyDictionary<string, string> files)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("gateway-secret-").FullName;
        var first = WriteVersion(files);
        File.CreateSymbolicLink(System.IO.Path.Combine(Directory, "..data"), first);
        foreach (var name in files.Keys)
        {
            File.CreateSymbolicLink(System.IO.Path.Combine(Directory, name), System.IO.Path.Combine("..data", name));
        }
    }

    public string Directory { get; }

    public string Path(string name) => System.IO.Path.Combine(Directory, name);

    public static SecretMount ForCertificate(TestCertificate certificate) =>
        new(new Dictionary<string, string> { ["tls.crt"] = certificate.CertificatePem, ["tls.key"] = certificate.KeyPem });

    /// <summary>kubelet's atomic update of every file at once.</summary>
    public void Swap(IReadOnlyDictionary<string, string> files)
    {
        var previous = File.ResolveLinkTarget(System.IO.Path.Combine(Directory, "..data"), returnFinalTarget: false)!.Name;
        var next = WriteVersion(files);
        var temp = System.IO.Path.Combine(Directory, "..data_tmp");
        File.CreateSymbolicLink(temp, next);
        if (rename(temp, System.IO.Path.Combine(Directory, "..data")) != 0)
        {
            throw new IOException($"rename failed: errno {Marshal.GetLastPInvokeError()}");
        }

        System.IO.Directory.Delete(System.IO.Path.Combine(Directory, previous), recursive: true);
    }

    public void Swap(TestCertificate certificate) =>
        Swap(new Dictionary<string, string> { ["tls.crt"] = certificate.CertificatePem, ["tls.key"] = certificate.KeyPem });

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    private string WriteVersion(IReadOnlyDictionary<string, string> files)
    {
        var name = $"..2026_12_02_03_00_00.{++_version:D9}";
        var path = System.IO.Path.Combine(Directory, name);
        System.IO.Directory.CreateDirectory(path);
        foreach (var (file, content) in files)
        {
            File.WriteAllText(System.IO.Path.Combine(path, file), content);
        }

        return name;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rename(string oldpath, string newpath);
}
