namespace PicSharp.Training;

/// <summary>Linear warmup to the peak rate, then a half cosine down to the minimum at the last step.</summary>
public static class LearningRateSchedule
{
    /// <param name="step">0-based optimizer step.</param>
    public static double At(int step, TrainingOptions options) =>
        At(step, options.LearningRate, options.MinLearningRateRatio, options.WarmupSteps, options.TotalSteps);

    /// <summary>The rate at <paramref name="step"/> of a schedule peaking at <paramref name="peak"/>; any parameter group
    /// with its own peak follows the same shape.</summary>
    public static double At(int step, double peak, double minRatio, int warmupSteps, int totalSteps)
    {
        double floor = peak * minRatio;
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        int decaySteps = totalSteps - warmupSteps;
        if (decaySteps <= 0 || step >= totalSteps) return floor;
        double progress = (double)(step - warmupSteps) / decaySteps;
        return floor + 0.5 * (peak - floor) * (1 + Math.Cos(Math.PI * progress));
    }
}
