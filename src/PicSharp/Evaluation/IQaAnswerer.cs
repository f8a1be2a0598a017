using PicSharp.Data;

namespace PicSharp.Evaluation;

/// <summary>
/// One way of answering a QA example: a model reading the full context, the question alone, or (later) a compressed
/// memory of the context. Evaluation and the demo treat every way alike, one column or mode each.
/// </summary>
public interface IQaAnswerer
{
    /// <summary>Short name shown in tables and files, e.g. "full" or "none".</summary>
    string Mode { get; }

    /// <summary>How many input positions the model reads for this example before it answers (prompt tokens or
    /// memory slots plus question tokens); examples that do not fit the model are skipped on this number.</summary>
    int InputLength(SquadExample example);

    /// <summary>The answer text, trimmed.</summary>
    string Answer(SquadExample example);

    /// <summary>
    /// Teacher-forced loss of the first gold answer (<see cref="QaGeneration.GoldAnswerIds"/>) after this mode's input,
    /// in nats per answer token: a graded measure of what the input tells about the answer, which still separates two
    /// modes when both answer at the EM/F1 floor. Only called for examples with a gold answer.
    /// </summary>
    double AnswerLoss(SquadExample example);
}
