namespace PicSharp.Training;

/// <summary>Linear warmup to the peak rate, then a half cosine down to the minimum at the last step.</summary>
public static class LearningRateSchedule
{
    /// <param name="step">0-based optimizer step.</param>
    public static double At(int step, TrainingOptions options)
    {
        double peak = options.LearningRate, floor = peak * options.MinLearningRateRatio;
        if (step < options.WarmupSteps) return peak * (step + 1) / options.WarmupSteps;
        int decaySteps = options.TotalSteps - options.WarmupSteps;
        if (decaySteps <= 0 || step >= options.TotalSteps) return floor;
        double progress = (double)(step - options.WarmupSteps) / decaySteps;
        return floor + 0.5 * (peak - floor) * (1 + Math.Cos(Math.PI * progress));
    }
}
