namespace PicSharp.Serving;

/// <summary>No memory with that id in the store.</summary>
public sealed class MemoryNotFoundException(string id) : InvalidInputException($"no memory with id '{id}'")
{
    public string Id { get; } = id;
}
