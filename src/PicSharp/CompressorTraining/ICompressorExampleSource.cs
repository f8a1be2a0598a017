using PicSharp.Training;

namespace PicSharp.CompressorTraining;

/// <summary>Training examples drawn from a random stream; the draw depends on nothing but the stream.</summary>
public interface ICompressorExampleSource
{
    CompressorExample Draw(CounterRandom random);
}
