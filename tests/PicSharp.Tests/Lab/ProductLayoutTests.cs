using PicSharp.Lab;

namespace PicSharp.Tests.Lab;

/// <summary>The product apart from the lab: the library and the service reference neither `pic-lab` nor `pic`, and
/// the research code lives in `pic-lab`.</summary>
public sealed class ProductLayoutTests
{
    [Fact]
    public void The_library_and_the_service_reference_neither_the_lab_nor_the_command()
    {
        foreach (var product in new[] { typeof(BundledModels).Assembly, typeof(PicSharp.Serving.PicEngine).Assembly })
        {
            var references = product.GetReferencedAssemblies().Select(r => r.Name).ToList();
            Assert.DoesNotContain("pic-lab", references);
            Assert.DoesNotContain("pic", references);
        }
        Assert.Equal("pic-lab", typeof(SweepResults).Assembly.GetName().Name);
        Assert.Equal("pic-lab", typeof(ServeCrashDrill).Assembly.GetName().Name);
        Assert.DoesNotContain(typeof(BundledModels).Assembly.GetTypes(), t => t.Name is "SweepResults" or "LearningCurve");
    }
}
