namespace Warden.Tests;

/// <summary>Where the repository's own files are, for tests that run its scripts.</summary>
internal static class RepositoryPaths
{
    /// <summary>The directory holding Warden.sln, found upwards from the test assembly.</summary>
    public static string Root()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Warden.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
